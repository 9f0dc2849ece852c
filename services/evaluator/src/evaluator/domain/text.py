"""Plain-text helpers the metrics share: sentences, content words, token-overlap similarity."""

import math
import re
from collections import Counter

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORD_TEXT = (
    "a an and are as at be been but by can did do does for from had has have he her his how i"
    " if in into is it its may more most much no not of on or our she so such than that the"
    " their them then there these they this those to was we were what when where which while"
    " who whom whose why will with would you your also very"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def sentences(text: str) -> list[str]:
    """`text` split at sentence ends; empty pieces dropped."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def content_words(text: str) -> list[str]:
    """Lower-cased words of three or more characters that are not stopwords, in order."""
    return [w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in _STOPWORDS]


def _stem(word: str) -> str:
    # Just enough to match "towers" with "tower" and "completed" with "complete".
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def overlap_similarity(a: str, b: str) -> float:
    """Cosine similarity of the two texts' stemmed content-word counts, in [0, 1].

    Stands in for the embedding similarity of the Ragas paper: no embedding model runs
    offline here, and this is deterministic and explainable."""
    left = Counter(_stem(w) for w in content_words(a))
    right = Counter(_stem(w) for w in content_words(b))
    if not left or not right:
        return 0.0
    dot = sum(n * right[w] for w, n in left.items())
    norm = math.sqrt(sum(n * n for n in left.values())) * math.sqrt(
        sum(n * n for n in right.values())
    )
    return min(1.0, dot / norm)
