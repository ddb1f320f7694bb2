"""What a promotion gives. Each effect works on the lines the promotion may touch, in integer
minor units; none ever takes more than what is left of a unit, a line or the shipping."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeAlias

from app.domain.conditions import Target
from app.domain.lines import LineState
from app.domain.money import allocate, percent_of
from app.domain.reasons import Reason, Shortfall


@dataclass(frozen=True, slots=True)
class Gift:
    sku: str
    quantity: int
    unit_price_amount: int


@dataclass(slots=True)
class Work:
    """The mutable state one promotion's effects work on."""

    currency: str
    lines: list[LineState]  # the lines this promotion may discount, in canonical order
    available: list[LineState]  # every line not locked, for effects with their own target
    shipping_amount: int
    cashback_amount: int = 0
    gifts: list[Gift] = field(default_factory=list)

    @property
    def base_amount(self) -> int:
        return sum(line.remaining for line in self.lines)


def _spread(work: Work, amount: int, line_cap: int | None = None) -> None:
    """Take amount off the lines by largest remainder over what each has left."""
    parts = allocate(amount, [line.remaining for line in work.lines])
    for line, part in zip(work.lines, parts, strict=True):
        line.take(part if line_cap is None else min(part, line_cap))


@dataclass(frozen=True, slots=True)
class PercentOff:
    """basis_points of what is left of the eligible lines, rounded half up once for the order,
    capped per order, spread by largest remainder, then capped per line."""

    kind: ClassVar[str] = "percent_off"
    basis_points: int
    max_amounts: Mapping[str, int] = field(default_factory=dict)
    max_line_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        """Per-currency amounts; an empty one means 'not set'."""
        return (self.max_amounts, self.max_line_amounts)

    def apply(self, work: Work) -> None:
        amount = percent_of(work.base_amount, self.basis_points)
        if work.currency in self.max_amounts:
            amount = min(amount, self.max_amounts[work.currency])
        _spread(work, amount, self.max_line_amounts.get(work.currency))


@dataclass(frozen=True, slots=True)
class AmountOff:
    """A fixed amount off the eligible lines together, never more than they cost."""

    kind: ClassVar[str] = "amount_off"
    amounts: Mapping[str, int]

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def apply(self, work: Work) -> None:
        _spread(work, min(self.amounts[work.currency], work.base_amount))


@dataclass(frozen=True, slots=True)
class AmountOffEach:
    """A fixed amount off every eligible unit, never more than the unit costs."""

    kind: ClassVar[str] = "amount_off_each"
    amounts: Mapping[str, int]

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def apply(self, work: Work) -> None:
        off = self.amounts[work.currency]
        for line in work.lines:
            for unit, count in list(line.units.items()):
                line.reprice(unit, count, unit - min(off, unit))


@dataclass(frozen=True, slots=True)
class FixedPrice:
    """Every eligible unit costs at most this price."""

    kind: ClassVar[str] = "fixed_price"
    amounts: Mapping[str, int]

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def apply(self, work: Work) -> None:
        price = self.amounts[work.currency]
        for line in work.lines:
            for unit, count in list(line.units.items()):
                if unit > price:
                    line.reprice(unit, count, price)


def _cheapest_first(lines: list[LineState]) -> list[tuple[int, int, LineState]]:
    """(unit amount, units, line) groups, cheapest first; ties by the line's canonical key."""
    groups = [(unit, count, line) for line in lines for unit, count in line.units.items()]
    groups.sort(key=lambda g: (g[0], g[2].key))
    return groups


@dataclass(frozen=True, slots=True)
class BuyXGetY:
    """Buy buy_quantity eligible units, get get_quantity units of the get target (the same
    lines when it is not set) at basis_points off (10,000 = free). Repeats as often as the cart
    allows, up to max_applications; the cheapest units are the ones discounted."""

    kind: ClassVar[str] = "buy_x_get_y"
    buy_quantity: int
    get_quantity: int
    basis_points: int = 10_000
    get_target: Target | None = None
    max_applications: int | None = None

    def money(self) -> tuple[Mapping[str, int], ...]:
        return ()

    def _pools(self, work: Work) -> tuple[list[LineState], list[LineState]]:
        if self.get_target is None:
            return work.lines, work.lines
        gets = [line for line in work.available if self.get_target.matches(line.line)]
        return work.lines, gets

    def applications(self, work: Work) -> int:
        buys, gets = self._pools(work)
        buy_ids = {id(line) for line in buys}
        buy_units = sum(line.quantity for line in buys)
        get_groups = _cheapest_first(gets)
        get_units = sum(count for _, count, _ in get_groups)
        if buys is gets:
            most = buy_units // (self.buy_quantity + self.get_quantity)
        else:
            most = min(buy_units // self.buy_quantity, get_units // self.get_quantity)
        if self.max_applications is not None:
            most = min(most, self.max_applications)

        def feasible(apps: int) -> bool:
            # The free units are the cheapest apps * get_quantity of the get pool; the buy units
            # must come from what is left of the buy pool.
            free_left, free_from_buys = apps * self.get_quantity, 0
            for _, count, line in get_groups:
                taken = min(count, free_left)
                free_left -= taken
                if id(line) in buy_ids:
                    free_from_buys += taken
                if free_left == 0:
                    break
            return free_left == 0 and buy_units - free_from_buys >= apps * self.buy_quantity

        low, high = 0, most
        while low < high:
            mid = (low + high + 1) // 2
            if feasible(mid):
                low = mid
            else:
                high = mid - 1
        return low

    def shortfall(self, work: Work) -> Shortfall:
        buys, gets = self._pools(work)
        buy_units = sum(line.quantity for line in buys)
        if buys is gets:
            return Shortfall(quantity=self.buy_quantity + self.get_quantity - buy_units)
        get_units = sum(line.quantity for line in gets)
        missing = max(self.buy_quantity - buy_units, 0) + max(self.get_quantity - get_units, 0)
        return Shortfall(quantity=max(missing, 1))

    def apply(self, work: Work) -> None:
        free = self.applications(work) * self.get_quantity
        _, gets = self._pools(work)
        for unit, count, line in _cheapest_first(gets):
            if free == 0:
                break
            taken = min(count, free)
            free -= taken
            line.reprice(unit, taken, unit - percent_of(unit, self.basis_points))


@dataclass(frozen=True, slots=True)
class FreeGift:
    """Tells the checkout to add sku at unit_price (0 unless set for the currency)."""

    kind: ClassVar[str] = "free_gift"
    sku: str
    quantity: int = 1
    unit_price_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.unit_price_amounts,)

    def apply(self, work: Work) -> None:
        price = self.unit_price_amounts.get(work.currency, 0)
        work.gifts.append(Gift(sku=self.sku, quantity=self.quantity, unit_price_amount=price))


@dataclass(frozen=True, slots=True)
class ShippingOff:
    """A fixed amount or basis_points (10,000 = free shipping) off the shipping, capped at
    max_amounts; never more than the shipping costs."""

    kind: ClassVar[str] = "shipping_off"
    basis_points: int = 10_000
    amounts: Mapping[str, int] = field(default_factory=dict)
    max_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts, self.max_amounts)

    def apply(self, work: Work) -> None:
        if self.amounts:
            off = min(self.amounts[work.currency], work.shipping_amount)
        else:
            off = percent_of(work.shipping_amount, self.basis_points)
        if work.currency in self.max_amounts:
            off = min(off, self.max_amounts[work.currency])
        work.shipping_amount -= off


@dataclass(frozen=True, slots=True)
class Cashback:
    """basis_points of what the eligible lines still cost at this point of the stacking order
    (give it the lowest priority to pay it on the final price), capped; credited after redeem."""

    kind: ClassVar[str] = "cashback"
    basis_points: int
    max_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.max_amounts,)

    def apply(self, work: Work) -> None:
        amount = percent_of(work.base_amount, self.basis_points)
        if work.currency in self.max_amounts:
            amount = min(amount, self.max_amounts[work.currency])
        work.cashback_amount += amount


# Tuples rather than `A | B` unions written in the calls: a union is built anew on each call.
_UNIT_LEVEL = (BuyXGetY, FixedPrice, AmountOffEach)
_ORDER_LEVEL = (PercentOff, AmountOff)
_SHIPPING_AND_GIFTS = (ShippingOff, FreeGift)


def stage(effect: "Effect") -> int:
    """Where an effect sits when priorities tie: unit-level effects price items before
    order-level ones share out an amount, then shipping and gifts, then cashback on the rest."""
    if isinstance(effect, _UNIT_LEVEL):
        return 0
    if isinstance(effect, _ORDER_LEVEL):
        return 1
    if isinstance(effect, _SHIPPING_AND_GIFTS):
        return 2
    return 3


Effect: TypeAlias = (
    PercentOff
    | AmountOff
    | AmountOffEach
    | FixedPrice
    | BuyXGetY
    | FreeGift
    | ShippingOff
    | Cashback
)


def requirement(effect: Effect, work: Work) -> tuple[Reason, Shortfall] | None:
    """An effect's own demand on the cart (buy-X-get-Y needs enough units)."""
    if isinstance(effect, BuyXGetY) and effect.applications(work) == 0:
        return Reason.MIN_QUANTITY_NOT_MET, effect.shortfall(work)
    return None
