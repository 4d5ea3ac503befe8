"""Slack's v0 request signature, checked on the raw bytes before anything else is read.

Slack signs `v0:{timestamp}:{body}` with HMAC-SHA256 under the app's signing secret and sends the
hex digest as `X-Slack-Signature: v0=...`, the timestamp as `X-Slack-Request-Timestamp`. Any
header bytes are tolerated: a value that is not what Slack sends is a refusal, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

TOLERANCE_SECONDS = 300  # Slack's advice: refuse requests signed more than five minutes away
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: `\d` and int() accept "٣"


def _only(values: Sequence[str]) -> str | None:
    """The one value of a header; None when it is missing or sent more than once."""
    return values[0] if len(values) == 1 else None


def signature_problem(
    secret: str,
    body: bytes,
    timestamps: Sequence[str],
    signatures: Sequence[str],
    now: float,
) -> str | None:
    """Why the request is not signed by Slack (a short reason for the log), or None if it is.

    `timestamps` and `signatures` are every value the request carries for each header.
    """
    timestamp, signature = _only(timestamps), _only(signatures)
    if not secret:
        return "no signing secret is configured"
    if timestamp is None or signature is None:
        return "missing or repeated signature headers"
    if not timestamp.isascii() or _TIMESTAMP.fullmatch(timestamp) is None:
        return "a timestamp that is not a number"
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return "a timestamp more than five minutes away"
    if not signature.isascii():
        return "a wrong signature"
    signed = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = b"v0=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    if not hmac.compare_digest(expected, signature.encode("ascii")):
        return "a wrong signature"
    return None
