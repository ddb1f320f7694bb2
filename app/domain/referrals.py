"""Referral programs: a referrer shares a personal code; a friend's first order with it gets
the friend reward at checkout; once that order has stood (not rolled back or wholly returned)
for the program's window, the referrer gets the advocate reward, once, from the event feed
(services/referrals.py), within a limit per UTC calendar period (periods.period_bounds).

Nobody refers themselves: the code is refused (`self_referral`) to its referrer's customer id
and to a customer whose e-mail, as the checkout sends it, is the referrer's (compared by key:
the SHA-256 of the address trimmed and lower-cased, so the address is not kept).
"""

import hashlib

from app.domain.context import EvaluationContext


def email_key(email: str | None) -> str | None:
    """What an e-mail address is compared by (None for none or a blank one)."""
    if email is None or not email.strip():
        return None
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def is_self_referral(
    referrer_id: str | None, referrer_email_key: str | None, ctx: EvaluationContext
) -> bool:
    """Whether the checkout's customer is the code's referrer, by id or by e-mail."""
    return ctx.customer_id == referrer_id or (
        ctx.email_key is not None and ctx.email_key == referrer_email_key
    )
