"""Exact decimal arithmetic for NUMERIC(38,18) amounts."""

from contextlib import AbstractContextManager
from decimal import Context, Decimal, localcontext

# The default context keeps 28 significant digits and would silently round a full
# NUMERIC(38,18) value (38 digits); 80 keeps every sum, product and quotient here exact
# until the one deliberate rounding.
PRECISION = 80
ZERO = Decimal(0)
# For single operations on hot paths: passing a context is much cheaper than entering one.
CONTEXT = Context(prec=PRECISION)


def exact() -> AbstractContextManager[Context]:
    """A decimal context wide enough that sums and products of amounts never round."""
    return localcontext(prec=PRECISION)
