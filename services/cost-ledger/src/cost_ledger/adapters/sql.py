"""Bulk SQL helpers: many rows per round trip through `unnest` of one array per column."""

from collections.abc import Sequence
from typing import Any


def unnest_select(cols: Sequence[tuple[str, str]]) -> str:
    """`SELECT * FROM unnest($1::type[], ...)` for (name, type) columns."""
    arrays = ", ".join(f"${i}::{t}[]" for i, (_, t) in enumerate(cols, 1))
    return f"SELECT * FROM unnest({arrays})"


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows transposed into one list per column, the arguments `unnest_select` takes."""
    return [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]
