"""No link in README.md or docs/ leaves the repository: what a reader follows is checked in here
(local addresses such as http://127.0.0.1:8001 are fine: they are the reader's own stack)."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[ \t]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?!`).+?(?<!`)\1(?!`)", re.S)
_INLINE = re.compile(r"\]\(\s*<?([^\s)>]*)>?(?:\s+[\"'(][^)]*)?\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?", re.M)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>)\]`\"']+|\bmailto:[^\s<>)\]]+")


def documents() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def targets(text: str) -> list[str]:
    """Every link target a renderer would make of `text`: inline and reference links, and bare
    URLs (GitHub links those too); nothing inside code."""
    prose = _CODE_SPAN.sub("", _FENCE.sub("", text))
    found = _INLINE.findall(prose) + _REFERENCE.findall(prose)
    found += [u for u in _URL.findall(prose) if u not in found]
    return [t for t in found if t]


def leaves_the_repository(target: str, document: Path) -> bool:
    """A URL to anywhere but this machine, or a path that resolves outside the repository."""
    parts = urlsplit(target)
    if parts.scheme:
        return parts.scheme not in {"http", "https"} or parts.hostname not in LOCAL_HOSTS
    path = target.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return False  # an anchor on the same page
    resolved = (REPO / path.lstrip("/")) if path.startswith("/") else (document.parent / path)
    return not resolved.resolve().is_relative_to(REPO)


def test_no_link_in_the_readme_or_docs_leaves_the_repository() -> None:
    outside = [
        f"{doc.relative_to(REPO)}: {target}"
        for doc in documents()
        for target in targets(doc.read_text())
        if leaves_the_repository(target, doc)
    ]
    assert outside == [], "links leaving the repository (point them at docs/ instead)"


def test_every_relative_link_points_at_a_file_that_exists() -> None:
    broken = []
    for doc in documents():
        for target in targets(doc.read_text()):
            path = target.split("#", 1)[0]
            if path and not urlsplit(target).scheme and not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert broken == []


def anchors(document: Path) -> set[str]:
    """The heading anchors GitHub makes: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", _FENCE.sub("", document.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_anchor_names_a_heading_of_its_page() -> None:
    missing = []
    for doc in documents():
        for target in targets(doc.read_text()):
            path, _, anchor = target.partition("#")
            page = doc.parent / path if path else doc
            if anchor and not urlsplit(target).scheme and anchor not in anchors(page):
                missing.append(f"{doc.relative_to(REPO)}: {target}")
    assert missing == []


@pytest.mark.parametrize(
    ("line", "outside"),
    [
        ("see [the contract](../shared/DESIGN.md)", True),
        ("see [it](../../elsewhere/x.md#part)", True),
        ("see [a site](https://example.com/page)", True),
        ("mail [us](mailto:someone@example.com)", True),
        ("bare https://example.com/docs in prose", True),
        ("[ref]: https://example.com", True),
        ("see [events](docs/events.md#llmcallcompleted)", False),
        ("see [the top](#events)", False),
        ("the API at http://127.0.0.1:8001 and [it](http://localhost:8000/)", False),
        ("in code: `[x](../outside.md)` and `https://example.com`", False),
        ("```sh\ncurl https://example.com\n[x](../out.md)\n```", False),
    ],
)
def test_the_scanner_tells_outside_links_from_inside_ones(line: str, outside: bool) -> None:
    readme = REPO / "README.md"
    assert any(leaves_the_repository(t, readme) for t in targets(line)) is outside
