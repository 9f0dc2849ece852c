"""Deterministic answers to REX's judge prompts, recognized by a `[rex:<metric>:<step>]` marker.

The evaluator's prompts put their inputs in tags: `<answer>`, `<context>` (one per context)
and `<claims>` (a JSON list). Answers are derived from those inputs only, so the same
request always gets the same answer.
"""

import json
import re
from collections.abc import Callable

from llm_sim.text import content_words, sentences, tagged

MARKER = re.compile(r"\[rex:([a-z_]+):([a-z_]+)\]")


def _faithfulness_claims(user: str) -> str:
    answer = " ".join(tagged(user, "answer"))
    return json.dumps({"claims": sentences(answer)})


def _faithfulness_verdicts(user: str) -> str:
    context_words = content_words(" ".join(tagged(user, "context")))
    verdicts = [_verdict(claim, context_words) for claim in _claims(user)]
    return json.dumps({"verdicts": verdicts})


def _claims(user: str) -> list[str]:
    try:
        found = json.loads(" ".join(tagged(user, "claims")) or "[]")
    except json.JSONDecodeError:
        return []
    return [str(c) for c in found] if isinstance(found, list) else []


def _verdict(claim: str, context_words: set[str]) -> dict[str, object]:
    words = content_words(claim)
    found = words & context_words
    # "Supported" when most of the claim's content words occur in the contexts.
    supported = bool(words) and 2 * len(found) > len(words)
    reason = f"{len(found)} of {len(words)} content words of the claim occur in the context"
    return {"claim": claim, "reason": reason, "verdict": 1 if supported else 0}


TASKS: dict[tuple[str, str], Callable[[str], str]] = {
    ("faithfulness", "claims"): _faithfulness_claims,
    ("faithfulness", "verdicts"): _faithfulness_verdicts,
}


def is_judge_prompt(system: str, user: str) -> bool:
    """True when the request carries a REX judge marker."""
    return bool(MARKER.search(system) or MARKER.search(user))


def answer(system: str, user: str) -> str:
    """The judge's JSON answer for a marked prompt, else a deterministic plain reply."""
    marker = MARKER.search(system) or MARKER.search(user)
    if marker is None:
        return _plain(user)
    task = TASKS.get((marker.group(1), marker.group(2)))
    if task is None:
        return json.dumps({"error": f"unknown judge task {marker.group(0)}"})
    return task(user)


def _plain(user: str) -> str:
    first = sentences(user)[:1]
    topic = first[0][:200] if first else "your message"
    return f"This is a simulated reply about: {topic}"


def malformed(text: str) -> str:
    """A judge answer broken the way real models break them: cut off mid-JSON."""
    return "Sure! Here is the JSON you asked for:\n" + text[: max(len(text) // 2, 1)]
