"""Exact money: Decimal in, decimal strings out, floats refused."""

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

MICRO = Decimal("0.000001")


def _no_float(value: Any) -> Any:
    # A float has already lost the exact value; accepting it would hide the bug upstream.
    if isinstance(value, float):
        raise ValueError("money must be a decimal string or integer, not a float")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_no_float),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
]
"""A USD amount: exact Decimal in Python, a decimal string in JSON."""

ZERO = Decimal(0)


def per_million(tokens: int, rate_per_mtok: Decimal) -> Decimal:
    """Cost of `tokens` at a $/MTok rate, exactly (no rounding)."""
    return (Decimal(tokens) * rate_per_mtok) / Decimal(1_000_000)


def display(amount: Decimal, places: int = 6) -> str:
    """Round for display only (half-even), after all sums are done."""
    return format(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")


def to_str(amount: Decimal) -> str:
    """Canonical decimal string without exponent, trailing zeros stripped."""
    text = format(amount, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
