"""Counting tokens offline with the OpenAI encodings bundled in `quicktok`."""

from functools import cache, lru_cache
from typing import Any

import quicktok


@cache
def _encoding(name: str) -> Any:
    return quicktok.get_encoding(name)


def encoding_for(model: str) -> str:
    """The tokenizer an OpenAI model uses: o200k_base from GPT-4o on, cl100k_base before."""
    legacy = model.startswith(("gpt-4-", "gpt-3.5")) or model == "gpt-4"
    return "cl100k_base" if legacy else "o200k_base"


def count(text: str, encoding: str = "o200k_base") -> int:
    """Tokens in `text`."""
    if len(text) > 1000:  # long texts are mostly the metrics' system prompts: remember them
        return _count_cached(text, encoding)
    return len(_encoding(encoding).encode(text))


@lru_cache(maxsize=256)
def _count_cached(text: str, encoding: str) -> int:
    return len(_encoding(encoding).encode(text))
