"""How each simulated model lays out a JSON judge answer: verbosity differs per model.

Asked for JSON without a JSON mode (the evaluator uses none), real models do not all answer
with the same bytes: small models tend to reply with one compact line, larger ones indent
their JSON across many lines. The content is the same; the output token count is not (the
newlines and indentation are tokens too). The evaluator's predictor sizes every reply as
compact JSON, so its cold output estimates run low for the indenting models until it has
learned their actual/expected ratio.

The rule, by the requested model name:

| model | layout |
|---|---|
| `*mini*`, `*nano*` (`gpt-4o-mini`, `o4-mini`, ...), unknown models | one compact line |
| `claude-*haiku*` | `json.dumps(indent=2)` |
| other `gpt-*`, `o1`/`o3`, other `claude-*` (sonnet, opus) | `json.dumps(indent=4)` |

Only a reply that is one JSON object is restyled; plain replies and replies broken on
purpose (`[sim:malformed]`) pass unchanged, and the parsed content never changes. (Real
Claude models also like ```json fences; the simulator does not add them, so that callers
and tests may read its replies as plain JSON.)
"""

import json

COMPACT, SMALL_INDENT, LARGE_INDENT = 0, 2, 4


def indent(model: str) -> int:
    """Spaces per JSON level `model` writes (0: one compact line); the table above."""
    name = model.lower()
    if "mini" in name or "nano" in name:
        return COMPACT
    if name.startswith("claude"):
        return SMALL_INDENT if "haiku" in name else LARGE_INDENT
    return LARGE_INDENT if name.startswith(("gpt", "o1", "o3", "chatgpt")) else COMPACT


def styled(model: str, reply: str) -> str:
    """`reply` laid out the way `model` would write it, when it is one JSON object."""
    spaces = indent(model)
    if not spaces:
        return reply
    try:
        value = json.loads(reply)
    except json.JSONDecodeError:
        return reply
    return (
        json.dumps(value, indent=spaces, ensure_ascii=False) if isinstance(value, dict) else reply
    )
