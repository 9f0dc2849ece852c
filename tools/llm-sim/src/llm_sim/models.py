"""Model names as the providers return them: dated snapshots of the requested aliases."""

_DATED = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "o1": "o1-2024-12-17",
    "o3": "o3-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
}


def dated(model: str) -> str:
    """The dated snapshot name a provider reports for `model` (unknown names are echoed)."""
    return _DATED.get(model, model)


def reasons(model: str) -> bool:
    """Reasoning models (o1, o3, o4-mini, ...) spend hidden reasoning tokens."""
    return model.startswith("o")


def reasoning_tokens(model: str, prompt_tokens: int) -> int:
    """A deterministic amount of hidden reasoning that grows with the prompt."""
    return 64 * (1 + prompt_tokens // 256) if reasons(model) else 0


def anthropic_min_cacheable(model: str) -> int:
    """The shortest prompt prefix Anthropic caches for `model` (its prompt-caching docs)."""
    if model.startswith(("claude-haiku-4-5", "claude-opus-4-5")):
        return 4096
    if model.startswith(("claude-3-5-haiku", "claude-3-haiku")):
        return 2048
    return 1024
