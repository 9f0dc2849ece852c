// Money arrives as decimal strings ("12.345678901234567890"); it is added and compared here as
// scaled BigInts, never as floats. Numbers appear only where a chart needs a coordinate.

const SCALE = 18;
const TEN = 10n;

/** A decimal string as an integer count of 10^-18 units. */
export function toUnits(value: string | number | null | undefined): bigint {
  if (value === null || value === undefined || value === "") return 0n;
  const text = typeof value === "number" ? value.toFixed(SCALE) : value.trim();
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) throw new Error(`not a decimal: ${text}`);
  const [, sign, whole = "", frac = "", exp = "0"] = match;
  let digits = (whole || "0") + frac;
  let scale = frac.length - Number(exp);
  if (scale < 0) {
    digits += "0".repeat(-scale);
    scale = 0;
  }
  let units = BigInt(digits);
  if (scale > SCALE) units = units / TEN ** BigInt(scale - SCALE);
  else units = units * TEN ** BigInt(SCALE - scale);
  return sign === "-" ? -units : units;
}

/** Units back to a plain decimal string with `places` digits, rounded half away from zero. */
export function fromUnits(units: bigint, places = SCALE): string {
  const negative = units < 0n;
  let abs = negative ? -units : units;
  if (places < SCALE) {
    const step = TEN ** BigInt(SCALE - places);
    abs = (abs + step / 2n) / step;
  }
  const text = abs.toString().padStart(places + 1, "0");
  const whole = text.slice(0, text.length - places);
  const frac = places ? `.${text.slice(text.length - places)}` : "";
  return `${negative && abs !== 0n ? "-" : ""}${whole}${frac}`;
}

export function add(...values: (string | null | undefined)[]): string {
  return fromUnits(values.reduce<bigint>((sum, v) => sum + toUnits(v), 0n));
}

export function sub(a: string, b: string): string {
  return fromUnits(toUnits(a) - toUnits(b));
}

export function compare(a: string, b: string): number {
  const d = toUnits(a) - toUnits(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** a / b as a plain number (a ratio for display, not money); null when b is zero. */
export function ratio(a: string, b: string): number | null {
  const den = toUnits(b);
  if (den === 0n) return null;
  return Number((toUnits(a) * 1_000_000n) / den) / 1_000_000;
}

/** Divides money by a count, exactly to 18 places (e.g. cost per QA row). */
export function divide(a: string, count: number): string | null {
  if (!count) return null;
  return fromUnits(toUnits(a) / BigInt(count));
}

/** "$1,234.57"; amounts under a cent keep their significant digits ("$0.000123"). */
export function formatUsd(value: string | null | undefined, places?: number): string {
  if (value === null || value === undefined) return "–";
  const units = toUnits(value);
  const abs = units < 0n ? -units : units;
  let digits = places ?? 2;
  if (places === undefined && abs !== 0n && abs < toUnits("0.01")) {
    digits = 2;
    while (digits < 8 && abs < TEN ** BigInt(SCALE - digits)) digits++;
    digits += 2; // three significant digits
  }
  const fixed = fromUnits(abs, digits);
  const [whole = "0", frac] = fixed.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${units < 0n ? "-" : ""}$${grouped}${frac ? `.${frac}` : ""}`;
}

/** A coordinate for a chart (a float is fine for drawing, never for sums shown as money). */
export function toNumber(value: string | null | undefined): number {
  return value ? Number(value) : 0;
}

/** Percent change from `before` to `now`, or null when there was nothing before. */
export function change(now: string, before: string): number | null {
  const r = ratio(sub(now, before), before);
  return r === null ? null : r * 100;
}
