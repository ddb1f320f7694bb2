"""Limits per period: how many redemptions a campaign may have per day, week or month, in all
("200 per day"), per code, or per customer ("one per customer per day"), counted in the
campaign's time zone: a day runs from its local midnight, a week from Monday, a month from the
1st."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from importlib.resources import files
from uuid import UUID
from zoneinfo import ZoneInfo

# The tz database's names as the tzdata package (pinned in the lock) lists them, whatever the
# host has; zoneinfo resolves each (from the host's files when it has them, else tzdata's).
ZONES = frozenset(files("tzdata").joinpath("zones").read_text(encoding="utf-8").split())


def is_time_zone(name: str) -> bool:
    return name in ZONES


class Per(StrEnum):
    CAMPAIGN = "campaign"
    CODE = "code"
    CUSTOMER = "customer"


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class PeriodLimit:
    per: Per
    period: Period
    limit: int


@dataclass(frozen=True, slots=True)
class PeriodLimits:
    time_zone: str = "UTC"
    limits: tuple[PeriodLimit, ...] = ()

    @property
    def needs_customer(self) -> bool:
        return any(limit.per is Per.CUSTOMER for limit in self.limits)

    def starts(self, period: Period, now: datetime) -> date:
        """The local date the period that now falls in began on."""
        local = now.astimezone(ZoneInfo(self.time_zone)).date()
        if period is Period.DAY:
            return local
        if period is Period.WEEK:
            return local - timedelta(days=local.isoweekday() - 1)
        return local.replace(day=1)


def period_bounds(period: Period, at: datetime) -> tuple[datetime, datetime]:
    """The UTC day, week (from Monday) or month holding `at`: where it starts, and where the
    next one does."""
    start = PeriodLimits().starts(period, at)
    if period is Period.DAY:
        end = start + timedelta(days=1)
    elif period is Period.WEEK:
        end = start + timedelta(days=7)
    else:
        end = (start + timedelta(days=32)).replace(day=1)
    return _midnight(start), _midnight(end)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# The oldest period start a read needs: a month back, with room for any time zone.
LOOKBACK = timedelta(days=32)


@dataclass(frozen=True, slots=True, order=True)
class PeriodKey:
    """One period counter: the campaign's, one of its codes' or one customer's."""

    campaign_id: UUID
    per: Per
    subject: str
    """'' for the campaign, the code's id, or the customer's id."""
    period: Period
    starts: date


@dataclass(frozen=True, slots=True)
class PeriodTake:
    key: PeriodKey
    limit: int


def subject_of(per: Per, code_id: UUID | None, customer_id: str | None) -> str | None:
    """What a limit counts for one redemption; None when it does not apply (a code limit for
    an automatic promotion) or cannot (a customer limit without a customer)."""
    if per is Per.CAMPAIGN:
        return ""
    if per is Per.CODE:
        return None if code_id is None else str(code_id)
    return customer_id


def period_takes(
    campaign_id: UUID,
    code_id: UUID | None,
    limits: PeriodLimits,
    customer_id: str | None,
    now: datetime,
) -> list[PeriodTake]:
    """The counters one redemption of this promotion adds one to, with their limits."""
    takes = []
    for limit in limits.limits:
        subject = subject_of(limit.per, code_id, customer_id)
        if subject is None:
            continue
        key = PeriodKey(
            campaign_id, limit.per, subject, limit.period, limits.starts(limit.period, now)
        )
        takes.append(PeriodTake(key, limit.limit))
    return takes


def period_limit_reached(takes: Sequence[PeriodTake], used: Mapping[PeriodKey, int]) -> bool:
    """Whether any of these counters is at its limit."""
    return any(used.get(take.key, 0) >= take.limit for take in takes)
