"""Deterministic answers to REX's judge prompts, recognized by a `[rex:<metric>:<step>]` marker.

The evaluator's prompts put their inputs in tags: `<question>`, `<answer>`, `<reference>`,
`<context>` (one per context), `<count>` and JSON lists (`<claims>`, `<answer_statements>`,
`<reference_statements>`). Answers are derived from those inputs only, so the same request
always gets the same answer.

Where real judges differ from what the evaluator's predictor assumes, this judge differs too,
deterministically (seeded by the request's content, never by chance):

- Statements: answers and references are decomposed with `text.claims` (clause splits,
  merged continuations, an occasional restated claim), not one claim per sentence.
- Reasons: each verdict's `reason` has one of four lengths, picked by the BLAKE2b hash of the
  item it judges: a terse phrase ("Stated in the source."), the one-sentence count ("7 of 9
  content words ... occur in ..."), that sentence plus the shared words, or that sentence
  plus a restatement of the item (its first 16 words). On average longer than the
  evaluator's stand-in reason.
- How the JSON is laid out (one line, or indented by 2 or 4 spaces) depends on the model:
  `llm_sim.style`, applied by the wire modules.
"""

import json
import re
from collections.abc import Callable

from llm_sim.text import claims, content_words, seeded, sentences, tagged

MARKER = re.compile(r"\[rex:([a-z_]+):([a-z_]+)\]")


def _faithfulness_claims(user: str) -> str:
    answer = " ".join(tagged(user, "answer"))
    return json.dumps({"claims": claims(answer)})


def _faithfulness_verdicts(user: str) -> str:
    context_words = content_words(" ".join(tagged(user, "context")))
    verdicts = [_verdict(claim, context_words) for claim in _claims(user)]
    return json.dumps({"verdicts": verdicts})


def _claims(user: str) -> list[str]:
    return _json_list(user, "claims")


def _verdict(claim: str, context_words: set[str]) -> dict[str, object]:
    words = content_words(claim)
    found = words & context_words
    # "Supported" when most of the claim's content words occur in the contexts.
    supported = bool(words) and 2 * len(found) > len(words)
    base = f"{len(found)} of {len(words)} content words of the claim occur in the context"
    reason = _reason(claim, base, found, supported)
    return {"claim": claim, "reason": reason, "verdict": 1 if supported else 0}


def _reason(item: str, base: str, found: set[str], ok: bool) -> str:
    """One of four reason lengths for `item`, chosen by its hash (see the module docstring)."""
    style = seeded("reason", item) % 4
    if style == 0:
        return "Stated in the source." if ok else "Not stated in the source."
    if style == 1:
        return base
    if style == 2:
        return f"{base}; shared words: {', '.join(sorted(found)[:6]) or 'none'}"
    words = item.split()
    quoted = " ".join(words[:16]) + (" ..." if len(words) > 16 else "")
    verb = "states" if ok else "does not state"
    return f'{base}. The source {verb} that "{quoted}"'


def _supported(statement: str, words: set[str]) -> tuple[bool, str]:
    """Most of the statement's content words occur in `words`, and why."""
    own = content_words(statement)
    found = own & words
    ok = bool(own) and 2 * len(found) > len(own)
    base = f"{len(found)} of {len(own)} content words of the statement occur in the source"
    return ok, _reason(statement, base, found, ok)


_NONCOMMITTAL = ("i don't know", "i do not know", "not sure", "it depends", "cannot say")


def _answer_relevancy_questions(user: str) -> str:
    answer = " ".join(tagged(user, "answer"))
    count = int((tagged(user, "count") or ["3"])[0] or 3)
    firsts = sentences(answer) or [answer]
    questions = []
    for i in range(max(count, 1)):
        words = sorted(content_words(firsts[i % len(firsts)]))
        questions.append(f"What is known about {' '.join(words) or 'this'}?")
    noncommittal = int(any(p in answer.lower() for p in _NONCOMMITTAL))
    return json.dumps({"questions": questions, "noncommittal": noncommittal})


def _context_precision_verdicts(user: str) -> str:
    reference = content_words(" ".join(tagged(user, "reference")))
    verdicts = []
    for context in tagged(user, "context"):
        found = content_words(context) & reference
        # "Useful" when the context shares at least a third of the reference's content words.
        useful = bool(reference) and 3 * len(found) >= len(reference)
        base = f"{len(found)} of {len(reference)} content words of the reference occur in it"
        reason = _reason(context, base, found, useful)
        verdicts.append({"reason": reason, "verdict": 1 if useful else 0})
    return json.dumps({"verdicts": verdicts})


def _context_recall_attributions(user: str) -> str:
    words = content_words(" ".join(tagged(user, "context")))
    items = []
    for statement in claims(" ".join(tagged(user, "reference"))):
        ok, reason = _supported(statement, words)
        items.append({"statement": statement, "reason": reason, "attributed": int(ok)})
    return json.dumps({"attributions": items})


def _answer_correctness_statements(user: str) -> str:
    return json.dumps(
        {
            "answer_statements": claims(" ".join(tagged(user, "answer"))),
            "reference_statements": claims(" ".join(tagged(user, "reference"))),
        }
    )


def _json_list(user: str, tag: str) -> list[str]:
    try:
        found = json.loads(" ".join(tagged(user, tag)) or "[]")
    except json.JSONDecodeError:
        return []
    return [str(c) for c in found] if isinstance(found, list) else []


def _answer_correctness_classify(user: str) -> str:
    answer, reference = (
        _json_list(user, "answer_statements"),
        _json_list(user, "reference_statements"),
    )
    reference_words = content_words(" ".join(reference))
    answer_words = content_words(" ".join(answer))
    out: dict[str, list[dict[str, str]]] = {"TP": [], "FP": [], "FN": []}
    for statement in answer:
        ok, reason = _supported(statement, reference_words)
        out["TP" if ok else "FP"].append({"statement": statement, "reason": reason})
    for statement in reference:
        ok, reason = _supported(statement, answer_words)
        if not ok:
            out["FN"].append({"statement": statement, "reason": reason})
    return json.dumps(out)


TASKS: dict[tuple[str, str], Callable[[str], str]] = {
    ("faithfulness", "claims"): _faithfulness_claims,
    ("faithfulness", "verdicts"): _faithfulness_verdicts,
    ("answer_relevancy", "questions"): _answer_relevancy_questions,
    ("context_precision", "verdicts"): _context_precision_verdicts,
    ("context_recall", "attributions"): _context_recall_attributions,
    ("answer_correctness", "statements"): _answer_correctness_statements,
    ("answer_correctness", "classify"): _answer_correctness_classify,
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
