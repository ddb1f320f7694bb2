"""What a promotion asks of the cart, the customer and the moment."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, TypeAlias
from zoneinfo import ZoneInfo

from app.domain.cart import CartLine
from app.domain.context import EvaluationContext
from app.domain.lines import LineState
from app.domain.reasons import Reason, Shortfall

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
class CartView:
    """What a condition on the cart sees: every line as it stands at this point of the
    stacking order, and the chosen shipping method."""

    currency: str
    lines: Sequence[LineState]
    shipping_method: str | None
    after_discounts: bool
    """Amounts are what the promotions before left (the campaign's calculation base)."""


@dataclass(frozen=True, slots=True)
class CartContains:
    """The cart holds items matching `items`, whatever the promotion discounts ('the cart
    contains product X', 'at least 2 items of category C', 'category C worth 30.00'): at
    least min_quantity units (1 when neither minimum is set) and min_subtotal_amounts of
    them."""

    kind: ClassVar[str] = "cart_contains"
    reasons: ClassVar[frozenset[Reason]] = frozenset({Reason.REQUIRED_ITEMS_MISSING})
    items: Target
    min_quantity: int | None = None
    min_subtotal_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.min_subtotal_amounts,)

    def refusal(self, cart: CartView) -> tuple[Reason, Shortfall | None] | None:
        matching = [state for state in cart.lines if self.items.matches(state.line)]
        minimum = self.min_subtotal_amounts.get(cart.currency)
        wanted = self.min_quantity if self.min_quantity is not None or minimum else 1
        if wanted is not None:
            units = sum(state.quantity for state in matching)
            if units < wanted:
                return Reason.REQUIRED_ITEMS_MISSING, Shortfall(quantity=wanted - units)
        if minimum is not None:
            amount = sum(
                state.remaining if cart.after_discounts else state.line.amount for state in matching
            )
            if amount < minimum:
                return Reason.REQUIRED_ITEMS_MISSING, Shortfall(amount=minimum - amount)
        return None


@dataclass(frozen=True, slots=True)
class ShippingMethodIs:
    """The cart's chosen shipping method is one of methods."""

    kind: ClassVar[str] = "shipping_method"
    reasons: ClassVar[frozenset[Reason]] = frozenset({Reason.SHIPPING_METHOD_NOT_ELIGIBLE})
    methods: frozenset[str]

    def money(self) -> tuple[Mapping[str, int], ...]:
        return ()

    def refusal(self, cart: CartView) -> tuple[Reason, Shortfall | None] | None:
        if cart.shipping_method not in self.methods:
            return Reason.SHIPPING_METHOD_NOT_ELIGIBLE, None
        return None


CartCondition: TypeAlias = CartContains | ShippingMethodIs


@dataclass(frozen=True, slots=True)
class Conditions:
    min_subtotal_amounts: Mapping[str, int] = field(default_factory=dict)
    min_quantity: int | None = None
    segments: frozenset[str] = field(default_factory=frozenset)
    first_order_only: bool = False
    markets: frozenset[str] = field(default_factory=frozenset)
    locales: frozenset[str] = field(default_factory=frozenset)
    schedule: Schedule | None = None
    cart: tuple[CartCondition, ...] = ()
    """Conditions on the whole cart, independent of the promotion's target."""

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
