"""Checks on what admins write: addresses, URLs, and text PostgreSQL can store."""

import re
from urllib.parse import urlsplit

_ATOM = r"[^@\s,;<>\"()]+"
_ADDRESS = re.compile(rf"^{_ATOM}@(?:{_ATOM}\.{_ATOM}|localhost)$")


def email_address(value: str) -> str:
    """The address, or ValueError: one mailbox, no spaces, commas or angle brackets."""
    if not _ADDRESS.match(value) or len(value) > 254:
        raise ValueError(f"not an email address: {value!r}")
    return value


def sender_address(value: str) -> str:
    """A From value ("Name <addr>" or "addr"), or ValueError."""
    # No line breaks, so it cannot inject headers.
    if "\r" in value or "\n" in value or len(value) > 300:
        raise ValueError("sender must be one line")
    match = re.fullmatch(r"\s*(?:[^<>]*<([^<>]+)>|([^<>\s]+))\s*", value)
    if not match:
        raise ValueError(f"not a sender address: {value!r}")
    email_address(match.group(1) or match.group(2))
    return value.strip()


def check_url(value: str, *, https_only: bool) -> str:
    """An absolute http(s) URL; https only when required."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL")
    if https_only and parts.scheme != "https":
        raise ValueError("must be an https:// URL")
    return value


def unstorable(value: object) -> bool:
    """A string PostgreSQL cannot store (NUL) or UTF-8 cannot encode (lone surrogates)."""
    if isinstance(value, str):
        return "\x00" in value or (not value.isascii() and _has_surrogate(value))
    if isinstance(value, dict):
        return any(unstorable(k) or unstorable(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(unstorable(v) for v in value)
    return False


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
