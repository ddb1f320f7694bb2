"""Limits per period (domain/periods.py): periods begin at the campaign's local midnight."""

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import uuid4

from app.domain.benefits import PercentOff
from app.domain.context import EvaluationContext
from app.domain.engine import uses_left
from app.domain.periods import Per, Period, PeriodLimit, PeriodLimits, period_takes
from app.domain.reasons import Reason
from app.domain.rules import Usage
from tests.unit.domain.builders import cart, line, promo, run

BERLIN = PeriodLimits(time_zone="Europe/Berlin")


def test_a_period_starts_at_local_midnight_on_monday_and_on_the_first() -> None:
    late_sunday_utc = datetime(2026, 5, 31, 22, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    assert BERLIN.starts(Period.DAY, late_sunday_utc) == date(2026, 6, 1)
    assert BERLIN.starts(Period.WEEK, late_sunday_utc) == date(2026, 6, 1)
    assert BERLIN.starts(Period.MONTH, late_sunday_utc) == date(2026, 6, 1)
    utc = PeriodLimits()
    assert utc.starts(Period.DAY, late_sunday_utc) == date(2026, 5, 31)
    assert utc.starts(Period.WEEK, late_sunday_utc) == date(2026, 5, 25)
    assert utc.starts(Period.MONTH, late_sunday_utc) == date(2026, 5, 1)


def test_takes_say_which_counters_a_redemption_adds_to() -> None:
    campaign, code = uuid4(), uuid4()
    limits = PeriodLimits(
        "UTC",
        (
            PeriodLimit(Per.CAMPAIGN, Period.DAY, 200),
            PeriodLimit(Per.CODE, Period.WEEK, 50),
            PeriodLimit(Per.CUSTOMER, Period.DAY, 1),
        ),
    )
    now = datetime(2026, 6, 3, 12, tzinfo=UTC)
    takes = period_takes(campaign, code, limits, "ann", now)
    assert [(t.key.per, t.key.subject, t.key.starts, t.limit) for t in takes] == [
        (Per.CAMPAIGN, "", date(2026, 6, 3), 200),
        (Per.CODE, str(code), date(2026, 6, 1), 50),
        (Per.CUSTOMER, "ann", date(2026, 6, 3), 1),
    ]
    # No code (automatic) and no customer: those limits do not apply.
    assert [t.key.per for t in period_takes(campaign, None, limits, None, now)] == [Per.CAMPAIGN]


def test_the_engine_refuses_at_the_limit_and_needs_a_customer_for_theirs() -> None:
    limits = PeriodLimits("UTC", (PeriodLimit(Per.CUSTOMER, Period.DAY, 1),))
    now = datetime(2026, 6, 3, 12, tzinfo=UTC)
    limited = promo(PercentOff(1000))
    limited = replace(limited, rules=replace(limited.rules, periods=limits))
    [take] = period_takes(limited.campaign_id, limited.code_id, limits, "ann", now)
    spent = replace(limited, period_used={take.key: 1})
    c = cart(line("A", 1, 1000))
    ann = EvaluationContext(now=now, customer_id="ann")
    assert run(c, limited, ctx=ann).verdicts[0].is_valid
    assert run(c, spent, ctx=ann).verdicts[0].reason is Reason.PERIOD_LIMIT_REACHED
    nobody = EvaluationContext(now=now)
    assert run(c, limited, ctx=nobody).verdicts[0].reason is Reason.CUSTOMER_REQUIRED
    # Tomorrow is another day.
    tomorrow = EvaluationContext(now=datetime(2026, 6, 4, 0, 1, tzinfo=UTC), customer_id="ann")
    assert run(c, spent, ctx=tomorrow).verdicts[0].is_valid


def test_uses_left_is_the_least_of_every_cap_the_shopper_meets() -> None:
    now = datetime(2026, 6, 3, 12, tzinfo=UTC)
    ann = EvaluationContext(now=now, customer_id="ann")
    capped = promo(
        PercentOff(1000),
        usage=Usage(
            max_redemptions=100,
            redemption_count=97,
            per_customer_limit=5,
            customer_redemption_count=1,
        ),
    )
    assert uses_left(capped, ann) == 3
    assert uses_left(promo(PercentOff(1000)), ann) is None
    over = replace(capped, usage=Usage(max_redemptions=1, redemption_count=2))
    assert uses_left(over, ann) == 0
    # Customer limits only count for a known customer.
    mine = promo(PercentOff(1000), usage=Usage(per_customer_limit=1, customer_redemption_count=1))
    assert uses_left(mine, ann) == 0
    assert uses_left(mine, EvaluationContext(now=now)) is None
