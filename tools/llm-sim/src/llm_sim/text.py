"""Plain-text helpers for the deterministic judge: tags, sentences, content words."""

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
