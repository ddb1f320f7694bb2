"""Referrals, pure: e-mail keys, self-referral, and the periods rewards are counted in."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.benefits import AmountOff
from app.domain.context import EvaluationContext
from app.domain.periods import Period, period_bounds
from app.domain.reasons import Reason
from app.domain.referrals import email_key, is_self_referral
from tests.unit.domain.builders import NOW, cart, line, promo, run


def test_an_e_mail_is_compared_trimmed_and_lower_cased_never_kept() -> None:
    key = email_key(" Ann@Example.COM ")
    assert key == email_key("ann@example.com")
    assert key is not None
    assert "ann" not in key
    assert len(key) == 64
    assert email_key(None) is None
    assert email_key("  ") is None


def test_a_referrer_cannot_use_their_code_by_id_or_by_e_mail() -> None:
    mine = email_key("ann@example.com")
    assert is_self_referral("ann", mine, EvaluationContext(NOW, customer_id="ann"))
    assert is_self_referral("ann", mine, EvaluationContext(NOW, "ann-2", email_key=mine))
    assert not is_self_referral("ann", mine, EvaluationContext(NOW, customer_id="bob"))
    assert not is_self_referral("ann", None, EvaluationContext(NOW, "bob", email_key=mine))


def test_the_engine_refuses_a_referrer_their_own_code() -> None:
    code = promo(AmountOff({"EUR": 500}), code="REF-ANN", referrer_id="ann")
    c = cart(line("a", 1, 3000))
    own = run(c, code, ctx=EvaluationContext(NOW, customer_id="ann"))
    assert own.verdicts[0].reason is Reason.SELF_REFERRAL
    anonymous = run(c, code, ctx=EvaluationContext(NOW))
    assert anonymous.verdicts[0].reason is Reason.CUSTOMER_REQUIRED
    friend = run(c, code, ctx=EvaluationContext(NOW, customer_id="bob"))
    assert friend.discount_amount == 500


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        (Period.DAY, datetime(2026, 12, 2, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC)),
        (Period.WEEK, datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 7, tzinfo=UTC)),
        (Period.MONTH, datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
    ],
)
def test_rewards_are_counted_per_calendar_period_in_utc(
    period: Period, start: datetime, end: datetime
) -> None:
    at = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
    assert period_bounds(period, at) == (start, end)
    # The same moment seen from another offset falls in the same UTC period.
    assert period_bounds(period, at.astimezone(timezone(timedelta(hours=9)))) == (start, end)
