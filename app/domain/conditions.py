"""What a promotion asks of the cart, the customer and the moment."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from app.domain.cart import CartLine
from app.domain.context import EvaluationContext
from app.domain.reasons import Reason

MINUTES_PER_DAY = 24 * 60


def minute_of(clock: str) -> int:
    """'18:30' -> 1110 minutes after midnight ('24:00' is the end of the day)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def clock_of(minute: int) -> str:
    """1110 -> '18:30'."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


@dataclass(frozen=True, slots=True)
class Target:
    """Which lines a promotion applies to: all, or those whose SKU or a category is included,
    never those whose SKU or a category is excluded."""

    skus: frozenset[str] = field(default_factory=frozenset)
    categories: frozenset[str] = field(default_factory=frozenset)
    exclude_skus: frozenset[str] = field(default_factory=frozenset)
    exclude_categories: frozenset[str] = field(default_factory=frozenset)

    def matches(self, line: CartLine) -> bool:
        # isdisjoint() answers "any category in common?" without building the intersection.
        if line.sku in self.exclude_skus or not self.exclude_categories.isdisjoint(line.categories):
            return False
        if not self.skus and not self.categories:
            return True
        return line.sku in self.skus or not self.categories.isdisjoint(line.categories)


@dataclass(frozen=True, slots=True)
class Schedule:
    """Days of the week (1 = Monday) and a daily window [start, end) in minutes after local
    midnight, in an IANA time zone. A window whose end is not after its start runs overnight
    (22:00-02:00); the day that counts is the local day of the moment."""

    timezone: str
    days: frozenset[int] = field(default_factory=frozenset)
    start_minute: int = 0
    end_minute: int = MINUTES_PER_DAY

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        if self.days and local.isoweekday() not in self.days:
            return False
        minute = local.hour * 60 + local.minute
        if self.start_minute < self.end_minute:
            return self.start_minute <= minute < self.end_minute
        return minute >= self.start_minute or minute < self.end_minute


@dataclass(frozen=True, slots=True)
class Conditions:
    min_subtotal_amounts: Mapping[str, int] = field(default_factory=dict)
    min_quantity: int | None = None
    segments: frozenset[str] = field(default_factory=frozenset)
    first_order_only: bool = False
    markets: frozenset[str] = field(default_factory=frozenset)
    locales: frozenset[str] = field(default_factory=frozenset)
    schedule: Schedule | None = None

    def audience_refusal(self, ctx: EvaluationContext) -> Reason | None:
        """The first unmet condition on the customer, the market or the locale."""
        if self.segments and not self.segments & ctx.segments:
            return Reason.SEGMENT_NOT_ELIGIBLE
        if self.first_order_only and ctx.is_first_order is not True:
            return Reason.FIRST_ORDER_ONLY
        if self.markets and ctx.market not in self.markets:
            return Reason.MARKET_NOT_ELIGIBLE
        if self.locales and not _locale_allowed(ctx.locale, self.locales):
            return Reason.LOCALE_NOT_ELIGIBLE
        return None


def _locale_allowed(locale: str | None, allowed: frozenset[str]) -> bool:
    """'fr-FR' is allowed by 'fr-FR' or by the bare language 'fr'; matching ignores case."""
    if locale is None:
        return False
    wanted = {a.casefold() for a in allowed}
    tag = locale.casefold()
    return tag in wanted or tag.split("-")[0] in wanted
