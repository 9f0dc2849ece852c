import { useEffect, useMemo, useState } from "react";
import * as budgets from "../api/budgets";
import type { BudgetInput, BudgetPeriod, BudgetType } from "../api/budgets";
import type { Session } from "../auth";
import { Loading, Problem } from "../components/ui";
import { navigate } from "../router";

const PERIODS: BudgetPeriod[] = ["daily", "weekly", "monthly", "quarterly", "yearly"];
const TYPES: BudgetType[] = ["organization", "project", "user"];

function timezones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  const all = intl.supportedValuesOf?.("timeZone") ?? [];
  return ["UTC", ...all.filter((z) => z !== "UTC")];
}

interface Form {
  name: string;
  type: BudgetType;
  entity_id: string;
  limit_amount: string;
  period: BudgetPeriod;
  timezone: string;
  thresholds: string;
  is_hard_limit: boolean;
}

const EMPTY: Form = { name: "", type: "organization", entity_id: "", limit_amount: "", period: "monthly", timezone: "UTC", thresholds: "50, 80, 90, 100", is_hard_limit: false };

function problems(f: Form): Record<string, string> {
  const out: Record<string, string> = {};
  if (!f.name.trim()) out.name = "Give the budget a name.";
  if (!/^\d+(\.\d{1,18})?$/.test(f.limit_amount.trim()) || Number(f.limit_amount) <= 0) out.limit_amount = "A positive amount in USD, e.g. 250 or 99.50.";
  if (f.type !== "organization" && !f.entity_id.trim()) out.entity_id = `Which ${f.type} this budget covers.`;
  const ts = f.thresholds.split(",").map((t) => t.trim()).filter(Boolean);
  if (ts.some((t) => !/^\d+(\.\d+)?$/.test(t) || Number(t) <= 0 || Number(t) > 1000)) out.thresholds = "Percents between 0 and 1000, separated by commas.";
  return out;
}

export default function BudgetEdit({ session, id }: { session: Session; id?: string }) {
  const [form, setForm] = useState<Form>(EMPTY);
  const [loaded, setLoaded] = useState(!id);
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saving, setSaving] = useState(false);
  const zones = useMemo(timezones, []);

  useEffect(() => {
    if (!id) return;
    budgets.one(id).then(
      (b) => {
        setForm({ name: b.name, type: b.type, entity_id: b.entity_id, limit_amount: b.limit_amount, period: b.period, timezone: b.timezone, thresholds: b.thresholds.map((t) => String(Number(t))).join(", "), is_hard_limit: b.is_hard_limit });
        setLoaded(true);
      },
      (e) => setError(e),
    );
  }, [id]);

  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));
  const bad = problems(form);

  const save = async (event: React.FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (Object.keys(bad).length) {
      document.getElementById(Object.keys(bad)[0]!)?.focus();
      return;
    }
    const body: BudgetInput = {
      name: form.name.trim(),
      type: form.type,
      entity_id: form.type === "organization" ? null : form.entity_id.trim(),
      limit_amount: form.limit_amount.trim(),
      period: form.period,
      timezone: form.timezone,
      thresholds: form.thresholds.split(",").map((t) => t.trim()).filter(Boolean),
      is_hard_limit: form.is_hard_limit,
    };
    setSaving(true);
    setError(null);
    try {
      const { type: _t, entity_id: _e, ...changes } = body;
      const saved = id ? await budgets.update(id, changes) : await budgets.create(body);
      navigate(`/budgets/${saved.id}`);
    } catch (e) {
      setError(e);
    } finally {
      setSaving(false);
    }
  };

  if (!loaded) return error ? <Problem error={error} what="Loading the budget" /> : <Loading what="budget" />;
  const fieldError = (k: keyof Form) =>
    touched && bad[k] ? (
      <span className="field-error" id={`${k}-error`}>
        {bad[k]}
      </span>
    ) : null;
  const invalid = (k: keyof Form) => (touched && bad[k] ? { "aria-invalid": true as const, "aria-describedby": `${k}-error` } : {});

  return (
    <div className="page">
      <h1>{id ? `Edit budget ${form.name}` : "New budget"}</h1>
      <form className="form panel" onSubmit={save} noValidate aria-label={id ? "Edit budget" : "New budget"}>
        <div className="field">
          <label htmlFor="name">Name</label>
          <input id="name" value={form.name} onChange={(e) => set("name", e.target.value)} {...invalid("name")} />
          {fieldError("name")}
        </div>
        <fieldset className="field" disabled={Boolean(id)}>
          <legend>Scope</legend>
          <div className="row">
            <div>
              <label htmlFor="type">Applies to</label>
              <select id="type" value={form.type} onChange={(e) => set("type", e.target.value as BudgetType)}>
                {TYPES.map((t) => (
                  <option key={t} value={t}>
                    {t === "organization" ? `the organization (${session.orgId})` : `one ${t}`}
                  </option>
                ))}
              </select>
            </div>
            {form.type !== "organization" ? (
              <div>
                <label htmlFor="entity_id">{form.type === "project" ? "Project id" : "User id"}</label>
                <input id="entity_id" value={form.entity_id} onChange={(e) => set("entity_id", e.target.value)} {...invalid("entity_id")} />
                {fieldError("entity_id")}
              </div>
            ) : null}
          </div>
          {id ? <p className="muted">A budget&apos;s scope cannot change; archive it and create another.</p> : null}
        </fieldset>
        <div className="row">
          <div className="field">
            <label htmlFor="limit_amount">Limit (USD)</label>
            <input id="limit_amount" inputMode="decimal" value={form.limit_amount} onChange={(e) => set("limit_amount", e.target.value)} {...invalid("limit_amount")} />
            {fieldError("limit_amount")}
          </div>
          <div className="field">
            <label htmlFor="period">Period</label>
            <select id="period" value={form.period} onChange={(e) => set("period", e.target.value as BudgetPeriod)}>
              {PERIODS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="timezone">Timezone (periods start at midnight there)</label>
            <select id="timezone" value={form.timezone} onChange={(e) => set("timezone", e.target.value)}>
              {zones.map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="field">
          <label htmlFor="thresholds">Alert thresholds (percent of the limit)</label>
          <input id="thresholds" value={form.thresholds} onChange={(e) => set("thresholds", e.target.value)} {...invalid("thresholds")} />
          {fieldError("thresholds")}
        </div>
        <fieldset className="field">
          <legend>Enforcement</legend>
          <label className="inline">
            <input type="radio" name="limit-kind" checked={!form.is_hard_limit} onChange={() => set("is_hard_limit", false)} /> Soft: warn, but let evaluations run
          </label>
          <label className="inline">
            <input type="radio" name="limit-kind" checked={form.is_hard_limit} onChange={() => set("is_hard_limit", true)} /> Hard: refuse evaluations that would exceed the limit
          </label>
        </fieldset>
        <Problem error={error} what="Saving" />
        <div className="actions">
          <button type="submit" className="primary" disabled={saving}>
            {saving ? "Saving…" : id ? "Save changes" : "Create budget"}
          </button>
          <a href={id ? `/budgets/${id}` : "/budgets"}>Cancel</a>
        </div>
      </form>
    </div>
  );
}
