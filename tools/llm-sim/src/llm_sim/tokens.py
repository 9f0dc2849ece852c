"""Deterministic token counting with the o200k_base encoding (bundled, works offline)."""

from collections.abc import Sequence

import quicktok

_ENCODING = quicktok.get_encoding("o200k_base")

# OpenAI primes every reply with a few framing tokens (<|start|>assistant<|message|>).
REPLY_PRIMING_TOKENS = 3


def encode(text: str) -> list[int]:
    """Token ids of `text`."""
    return list(_ENCODING.encode(text))


def count(text: str) -> int:
    """Number of tokens in `text`."""
    return len(_ENCODING.encode(text))


def truncate(text: str, max_tokens: int | None) -> tuple[str, int, bool]:
    """`text` cut to `max_tokens`: (text, tokens, was_cut)."""
    ids = encode(text)
    if max_tokens is None or len(ids) <= max_tokens:
        return text, len(ids), False
    kept: Sequence[int] = ids[: max(max_tokens, 0)]
    return str(_ENCODING.decode(list(kept))), len(kept), True
