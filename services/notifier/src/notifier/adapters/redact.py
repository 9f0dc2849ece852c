"""Keep secrets out of error texts (stored in `last_error`) and logs."""

from urllib.parse import urlsplit


class Redactor:
    """Replaces each secret, and the path and query of secret URLs, with `[redacted]`."""

    def __init__(self, secrets: list[str]) -> None:
        parts: set[str] = set()
        for secret in filter(None, secrets):
            parts.add(secret)
            url = urlsplit(secret)
            if url.scheme and url.netloc:
                # Libraries quote URLs in pieces (the path alone, the URL without its query).
                parts.update(p for p in (url.path, url.query) if len(p) > 3)
        self._parts = sorted(parts, key=len, reverse=True)  # longest first: no partial leftovers

    def __call__(self, text: str) -> str:
        for part in self._parts:
            text = text.replace(part, "[redacted]")
        return text
