"""Plain-text helpers for the deterministic judge: tags, sentences, claims, content words.

`claims` is how the simulated judge decomposes a text into statements, and it is on purpose
NOT the evaluator's rule (one claim per sentence, split after `.`, `!` or `?`): real judges
decompose differently. The rule, applied to the sentences in order:

1. Clause split: a sentence is cut at `; `, at `, and ` / `, but `, and at ` and ` before
   `was|were|is|are|has|have|had` (conjoined predicates: "It opened in 1973 and was
   inaugurated by ..."), when every piece keeps at least 3 words.
2. Merge: a sentence that only continues the previous one, starting "That is", "This is",
   "That means", "In other words" or "i.e.", is appended to the previous claim.
3. Restate: when that leaves 3 or more claims, one answer in three (chosen by the BLAKE2b
   hash of the text, so always the same ones) gets one more claim restating the first:
   "To restate: <first claim>".
"""

import hashlib
import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "a an and are as at be been but by can did do does for from had has have he her his how i"
    " if in into is it its may more most much no not of on or our she so such than that the"
    " their them then there these they this those to was we were what when where which while"
    " who why will with would you your also very"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_CLAUSE = re.compile(r";\s+|,\s+(?:and|but)\s+|\s+and\s+(?=(?:was|were|is|are|has|have|had)\b)")
_CONTINUES = re.compile(r"(?:that is|this is|that means|in other words|i\.e\.)\b", re.IGNORECASE)


def tagged(text: str, tag: str) -> list[str]:
    """Contents of every `<tag>...</tag>` in `text`, stripped."""
    pattern = re.compile(rf"<{tag}>(.*?)</{tag}>", re.DOTALL)
    return [m.strip() for m in pattern.findall(text)]


def sentences(text: str) -> list[str]:
    """`text` split at sentence ends; empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def content_words(text: str) -> set[str]:
    """Lower-cased words of three or more characters that are not stopwords."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS}


def seeded(*parts: str) -> int:
    """A stable pseudo-random number from `parts` (BLAKE2b; the same in every process)."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _clauses(sentence: str) -> list[str]:
    parts = [p.strip() for p in _CLAUSE.split(sentence) if p.strip()]
    return parts if len(parts) > 1 and all(len(p.split()) >= 3 for p in parts) else [sentence]


def claims(text: str) -> list[str]:
    """The statements a judge makes of `text` (the rule in the module docstring)."""
    out: list[str] = []
    for sentence in sentences(text):
        if out and _CONTINUES.match(sentence):
            out[-1] = f"{out[-1]} {sentence}"
            continue
        out.extend(_clauses(sentence))
    if len(out) >= 3 and seeded("restate", text) % 3 == 0:
        out.append(f"To restate: {out[0]}")
    return out
