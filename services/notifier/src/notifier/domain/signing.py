"""Signed webhooks: HMAC-SHA256 over "<timestamp>.<body>", sent as `X-Rex-Signature`."""

import hashlib
import hmac

SIGNATURE_HEADER = "X-Rex-Signature"
TIMESTAMP_HEADER = "X-Rex-Timestamp"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `<timestamp>.<body>` under `secret`."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """`X-Rex-Signature: t=<unix>,v1=<hex>` and `X-Rex-Timestamp: <unix>`."""
    return {
        SIGNATURE_HEADER: f"t={timestamp},v1={signature(secret, timestamp, body)}",
        TIMESTAMP_HEADER: str(timestamp),
    }
