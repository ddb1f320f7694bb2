"""Webhooks, pure: how a delivery is signed, and when a failed one is tried again.

A receiver verifies a delivery by computing HMAC-SHA256 over "<timestamp>.<body>" with the
endpoint's secret and comparing it (in constant time) with the `v1=` value of the
`Tessera-Signature` header; it rejects a timestamp more than a few minutes old (a replay), and
may see one event twice (deliveries are at least once): the event id tells.
"""

import hashlib
import hmac
from datetime import timedelta

# Tried this many times in all, then failed (a failed delivery can be replayed).
MAX_ATTEMPTS = 12
_FIRST_RETRY = timedelta(seconds=30)
_LONGEST_WAIT = timedelta(hours=6)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `Tessera-Signature` header of a delivery sent at timestamp (Unix seconds)."""
    signed = str(timestamp).encode() + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def retry_after(attempts: int, jitter: int) -> timedelta | None:
    """How long to wait after the attempts-th failed attempt (30 s, doubling, at most 6 h,
    spread by jitter, per mille in [0, 1000): up to a quarter more); None: give up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    wait: timedelta = min(_FIRST_RETRY * 2 ** (attempts - 1), _LONGEST_WAIT)
    return wait + wait * jitter // 4000
