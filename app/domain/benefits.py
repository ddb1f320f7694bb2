"""What a promotion gives. Each effect works on the lines the promotion may touch, in integer
minor units; none ever takes more than what is left of a unit, a line or the shipping.

Each kind is one frozen dataclass here, and only here: its fields (which are also its stored
and published shape: domain/kinds.py derives the codec from them), `kind` (its name in the
API), `stage` (where it sits in stacking when priorities tie), `reasons` (what its own
requirement can refuse with) and its evaluation (`apply`, and `requirement` when it makes a
demand of the cart). Adding a kind: write the class, add it to `Effect`, give it an API model
(api/schemas/rules.py) and regenerate the spec; tests/unit/domain/test_kinds.py checks the rest.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from itertools import pairwise
from typing import ClassVar, TypeAlias

from app.domain.conditions import Target
from app.domain.lines import LineState
from app.domain.money import Rounding, allocate, percent_of
from app.domain.reasons import Reason, Shortfall


class Stage(IntEnum):
    """Where an effect sits when priorities tie: unit-level effects price items before
    order-level ones share out an amount, then shipping and gifts, then cashback on the rest."""

    UNITS = 0
    ORDER = 1
    SHIPPING = 2
    CASHBACK = 3


class Pick(StrEnum):
    """Which units an effect that touches only some of them takes first."""

    CHEAPEST = "cheapest"
    MOST_EXPENSIVE = "most_expensive"


class CalculationBase(StrEnum):
    """What a campaign's thresholds and percentages see of the promotions applied before it."""

    STANDARD = "standard"
    """Thresholds see the prices before any promotion, percentages what is left (the default)."""
    BEFORE_DISCOUNTS = "before_discounts"
    """Both see the prices before any promotion (a percentage still never takes more than is
    left)."""
    AFTER_DISCOUNTS = "after_discounts"
    """Both see what the promotions applied before it left ('free shipping over 50.00 after
    discounts')."""


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
    eligible: list[LineState]  # every line of its target, locked or not: what thresholds see
    shipping_amount: int
    shipping_before: int  # what shipping cost before any promotion
    shipping_method: str | None = None
    rounding: Rounding = Rounding.HALF_UP
    base: CalculationBase = CalculationBase.STANDARD
    cashback_amount: int = 0
    gifts: list[Gift] = field(default_factory=list)

    @property
    def base_amount(self) -> int:
        """What the lines still cost: the most any amount can take off them."""
        return sum(line.remaining for line in self.lines)

    def percent(self, basis_points: int) -> int:
        """basis_points of the lines, on the amounts the calculation base says, rounded as the
        campaign says; never more than the lines still cost."""
        left = sum(line.remaining for line in self.lines)
        if self.base is CalculationBase.BEFORE_DISCOUNTS:
            before = sum(line.line.amount for line in self.lines)
            return min(percent_of(before, basis_points, self.rounding), left)
        return percent_of(left, basis_points, self.rounding)

    def threshold_amount(self) -> int:
        """What thresholds on the eligible lines' amount compare with (as the promotion's
        minimum subtotal does: every line of its target, on the calculation base's amounts)."""
        if self.base is CalculationBase.AFTER_DISCOUNTS:
            return sum(line.remaining for line in self.eligible)
        return sum(line.line.amount for line in self.eligible)

    def threshold_quantity(self) -> int:
        return sum(line.quantity for line in self.eligible)

    def unit_percent(self, unit: int, original: int, basis_points: int) -> int:
        """basis_points of a unit that costs unit now and original before any promotion, on
        the calculation base's amount, never more than the unit costs now."""
        of = original if self.base is CalculationBase.BEFORE_DISCOUNTS else unit
        return min(percent_of(of, basis_points, self.rounding), unit)


# Every line of the target is kept by line-exclusive promotions applied before: what stops an
# effect that counts the lines it may discount is them, not a shortfall of the cart.
_KEPT_BY_OTHERS: tuple[Reason, Shortfall | None] = (Reason.NOTHING_TO_DISCOUNT, None)


class _Demandless:
    """An effect that asks nothing of the cart beyond its promotion's target and conditions."""

    __slots__ = ()
    reasons: ClassVar[frozenset[Reason]] = frozenset()

    def requirement(self, work: Work) -> tuple[Reason, Shortfall | None] | None:
        return None


def _spread(work: Work, amount: int, line_cap: int | None = None) -> None:
    """Take amount off the lines by largest remainder over what each has left."""
    parts = allocate(amount, [line.remaining for line in work.lines])
    for line, part in zip(work.lines, parts, strict=True):
        line.take(part if line_cap is None else min(part, line_cap))


def _ordered(lines: list[LineState], pick: Pick) -> list[tuple[int, int, LineState]]:
    """(unit amount, units, line) groups in the order pick takes them; ties by the line's
    canonical key, so the order of the cart's lines never matters."""
    groups = [(unit, count, line) for line in lines for unit, count in line.units.items()]
    if pick is Pick.CHEAPEST:
        groups.sort(key=lambda g: (g[0], g[2].key))
    else:
        groups.sort(key=lambda g: (-g[0], g[2].key))
    return groups


@dataclass(frozen=True, slots=True)
class UnitCap:
    """Which units a per-unit effect touches: at most max_units in the order and
    max_units_per_line on one line, taken in pick order among the units it would lower ('once
    per order, on the cheapest': max_units 1); with group_size, only units that fall in
    complete groups of the eligible units, formed in pick order from every one of them ('2.00
    off each when you buy them in threes': of 7 units, the first 6). The caps combine. Nothing
    set: every unit."""

    max_units: int | None = None
    max_units_per_line: int | None = None
    pick: Pick = Pick.CHEAPEST
    group_size: int | None = None

    def units(self, work: Work, lowers: int = 0) -> list[tuple[int, int, LineState]]:
        """(unit amount, units, line) to touch; only units dearer than lowers count."""
        if self.max_units is None and self.max_units_per_line is None and self.group_size is None:
            return [
                (unit, count, line)
                for line in work.lines
                for unit, count in line.units.items()
                if unit > lowers
            ]
        chosen: list[tuple[int, int, LineState]] = []
        left = self.max_units
        # With group_size: the units in complete groups, counted in pick order over every
        # eligible unit (one it would not lower still fills its place in a group).
        in_groups = None
        if self.group_size is not None:
            units = sum(line.quantity for line in work.lines)
            in_groups = units // self.group_size * self.group_size
        per_line: dict[int, int] = {}
        for unit, count, line in _ordered(work.lines, self.pick):
            if in_groups is not None:
                count = min(count, in_groups)
                in_groups -= count
                if count == 0:
                    break
            if unit <= lowers:
                continue
            if self.max_units_per_line is not None:
                count = min(count, self.max_units_per_line - per_line.get(line.index, 0))
            if left is not None:
                count = min(count, left)
            if count <= 0:
                continue
            chosen.append((unit, count, line))
            per_line[line.index] = per_line.get(line.index, 0) + count
            if left is not None:
                left -= count
                if left == 0:
                    break
        return chosen


NO_CAP = UnitCap()


@dataclass(frozen=True, slots=True)
class PercentOff(_Demandless):
    """basis_points of what is left of the eligible lines, rounded once for the order, capped
    per order, spread by largest remainder, then capped per line."""

    kind: ClassVar[str] = "percent_off"
    stage: ClassVar[Stage] = Stage.ORDER
    basis_points: int
    max_amounts: Mapping[str, int] = field(default_factory=dict)
    max_line_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        """Per-currency amounts; an empty one means 'not set'."""
        return (self.max_amounts, self.max_line_amounts)

    def apply(self, work: Work) -> None:
        amount = work.percent(self.basis_points)
        if work.currency in self.max_amounts:
            amount = min(amount, self.max_amounts[work.currency])
        _spread(work, amount, self.max_line_amounts.get(work.currency))


@dataclass(frozen=True, slots=True)
class AmountOff(_Demandless):
    """A fixed amount off the eligible lines together, never more than they cost."""

    kind: ClassVar[str] = "amount_off"
    stage: ClassVar[Stage] = Stage.ORDER
    amounts: Mapping[str, int]

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def apply(self, work: Work) -> None:
        _spread(work, min(self.amounts[work.currency], work.base_amount))


@dataclass(frozen=True, slots=True)
class PercentOffEach(_Demandless):
    """basis_points off each unit it touches (all eligible units, or as capped), rounded per
    unit: '20 % off the cheapest item' is max_units 1."""

    kind: ClassVar[str] = "percent_off_each"
    stage: ClassVar[Stage] = Stage.UNITS
    basis_points: int
    cap: UnitCap = NO_CAP

    def money(self) -> tuple[Mapping[str, int], ...]:
        return ()

    def apply(self, work: Work) -> None:
        for unit, count, line in self.cap.units(work):
            off = work.unit_percent(unit, line.line.unit_price_amount, self.basis_points)
            if off:
                line.reprice(unit, count, unit - off)


@dataclass(frozen=True, slots=True)
class AmountOffEach(_Demandless):
    """A fixed amount off each unit it touches (all eligible units, or as capped), never more
    than the unit costs."""

    kind: ClassVar[str] = "amount_off_each"
    stage: ClassVar[Stage] = Stage.UNITS
    amounts: Mapping[str, int]
    cap: UnitCap = NO_CAP

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def apply(self, work: Work) -> None:
        off = self.amounts[work.currency]
        for unit, count, line in self.cap.units(work):
            line.reprice(unit, count, unit - min(off, unit))


@dataclass(frozen=True, slots=True)
class FixedPrice(_Demandless):
    """Each unit it touches costs at most this price (the capped units are chosen among those
    dearer than it)."""

    kind: ClassVar[str] = "fixed_price"
    stage: ClassVar[Stage] = Stage.UNITS
    amounts: Mapping[str, int]
    cap: UnitCap = NO_CAP

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def apply(self, work: Work) -> None:
        price = self.amounts[work.currency]
        for unit, count, line in self.cap.units(work, lowers=price):
            line.reprice(unit, count, price)


@dataclass(frozen=True, slots=True)
class BuyXGetY:
    """Buy buy_quantity eligible units, get get_quantity units of the get target (the same
    lines when it is not set) at basis_points off (10,000 = free). Repeats as often as the cart
    allows, up to max_applications; pick says which units are the discounted ones (the
    cheapest by default)."""

    kind: ClassVar[str] = "buy_x_get_y"
    stage: ClassVar[Stage] = Stage.UNITS
    reasons: ClassVar[frozenset[Reason]] = frozenset(
        {Reason.MIN_QUANTITY_NOT_MET, Reason.NOTHING_TO_DISCOUNT}
    )
    buy_quantity: int
    get_quantity: int
    basis_points: int = 10_000
    get_target: Target | None = None
    max_applications: int | None = None
    pick: Pick = Pick.CHEAPEST

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
        get_groups = _ordered(gets, self.pick)
        get_units = sum(count for _, count, _ in get_groups)
        if buys is gets:
            most = buy_units // (self.buy_quantity + self.get_quantity)
        else:
            most = min(buy_units // self.buy_quantity, get_units // self.get_quantity)
        if self.max_applications is not None:
            most = min(most, self.max_applications)

        def feasible(apps: int) -> bool:
            # The discounted units are the first apps * get_quantity of the get pool in pick
            # order; the buy units must come from what is left of the buy pool.
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

    def requirement(self, work: Work) -> tuple[Reason, Shortfall | None] | None:
        if not work.lines:
            return _KEPT_BY_OTHERS
        if self.applications(work) == 0:
            return Reason.MIN_QUANTITY_NOT_MET, self.shortfall(work)
        return None

    def apply(self, work: Work) -> None:
        free = self.applications(work) * self.get_quantity
        _, gets = self._pools(work)
        for unit, count, line in _ordered(gets, self.pick):
            if free == 0:
                break
            taken = min(count, free)
            free -= taken
            off = work.unit_percent(unit, line.line.unit_price_amount, self.basis_points)
            line.reprice(unit, taken, unit - off)


@dataclass(frozen=True, slots=True)
class Bundle:
    """Groups of quantity eligible units ('3 for 10.00'): each complete group costs
    price_amounts together, or has amounts_off taken off it (exactly one of the two is set),
    as many times as groups fit, up to max_applications. The groups are formed from the units
    in pick order (the cheapest first by default); a group's discount is spread over its units
    by largest remainder, and a group already cheaper than the price is left as it is. Units
    outside complete groups keep their price."""

    kind: ClassVar[str] = "bundle"
    stage: ClassVar[Stage] = Stage.UNITS
    reasons: ClassVar[frozenset[Reason]] = frozenset(
        {Reason.MIN_QUANTITY_NOT_MET, Reason.NOTHING_TO_DISCOUNT}
    )
    quantity: int
    price_amounts: Mapping[str, int] = field(default_factory=dict)
    amounts_off: Mapping[str, int] = field(default_factory=dict)
    max_applications: int | None = None
    pick: Pick = Pick.CHEAPEST

    def __post_init__(self) -> None:
        if bool(self.price_amounts) == bool(self.amounts_off):
            raise ValueError("give 'price_amounts' or 'amounts_off', exactly one")

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.price_amounts, self.amounts_off)

    def applications(self, work: Work) -> int:
        groups = sum(line.quantity for line in work.lines) // self.quantity
        if self.max_applications is not None:
            groups = min(groups, self.max_applications)
        return groups

    def requirement(self, work: Work) -> tuple[Reason, Shortfall | None] | None:
        if not work.lines:
            return _KEPT_BY_OTHERS
        if self.applications(work) == 0:
            units = sum(line.quantity for line in work.lines)
            return Reason.MIN_QUANTITY_NOT_MET, Shortfall(quantity=self.quantity - units)
        return None

    def _off(self, prices: list[int], currency: str) -> int:
        """What one group of units at prices loses."""
        total = sum(prices)
        price = self.price_amounts.get(currency)
        if price is not None:
            return max(total - price, 0)
        return min(self.amounts_off[currency], total)

    def apply(self, work: Work) -> None:
        # Runs of units of one price on one line, in pick order. Groups that fall inside one
        # run are alike: they are priced once and repriced together, so a cart of 10,000
        # units costs as much as one of ten.
        runs = _ordered(work.lines, self.pick)
        left = [count for _, count, _ in runs]  # units of each run not grouped yet
        groups, quantity, at = self.applications(work), self.quantity, 0
        while groups:
            unit, _, line = runs[at]
            alike = min(left[at] // quantity, groups)
            if alike:
                prices = [unit] * quantity
                parts = allocate(self._off(prices, work.currency), prices)
                for part in set(parts):
                    if part:
                        line.reprice(unit, parts.count(part) * alike, unit - part)
                left[at] -= alike * quantity
                groups -= alike
            else:
                # One group across runs: its units one by one (at most `quantity` of them).
                members: list[tuple[int, LineState]] = []
                while len(members) < quantity:
                    take = min(left[at], quantity - len(members))
                    members.extend([(runs[at][0], runs[at][2])] * take)
                    left[at] -= take
                    if left[at] == 0:
                        at += 1
                prices = [price for price, _ in members]
                parts = allocate(self._off(prices, work.currency), prices)
                for (price, member), part in zip(members, parts, strict=True):
                    if part:
                        member.reprice(price, 1, price - part)
                groups -= 1
                continue
            if left[at] == 0:
                at += 1


@dataclass(frozen=True, slots=True)
class Tier:
    """One step of a tiered effect: reached at min_quantity eligible units or min_amounts of
    them (one of the two), it gives basis_points or amounts off (one of the two)."""

    min_quantity: int | None = None
    min_amounts: Mapping[str, int] = field(default_factory=dict)
    basis_points: int | None = None
    amounts: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.min_quantity is None) == (not self.min_amounts):
            raise ValueError("each tier needs 'min_quantity' or 'min_amounts', exactly one")
        if (self.basis_points is None) == (not self.amounts):
            raise ValueError("each tier needs 'basis_points' or 'amounts', exactly one")


@dataclass(frozen=True, slots=True)
class Tiered:
    """The highest tier the eligible lines reach applies ('10 % over 50.00, 20 % over
    100.00'): a percentage or an amount off them together, as percent_off and amount_off do.
    Tiers go up: each has a higher threshold of the same measure than the one before."""

    kind: ClassVar[str] = "tiered"
    stage: ClassVar[Stage] = Stage.ORDER
    reasons: ClassVar[frozenset[Reason]] = frozenset(
        {Reason.MIN_SUBTOTAL_NOT_MET, Reason.MIN_QUANTITY_NOT_MET}
    )
    tiers: tuple[Tier, ...]
    max_amounts: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("a tiered effect needs at least one tier")
        first = self.tiers[0]
        for lower, higher in pairwise(self.tiers):
            if first.min_quantity is not None:
                if higher.min_quantity is None or lower.min_quantity is None:
                    raise ValueError("every tier must use the same measure")
                if higher.min_quantity <= lower.min_quantity:
                    raise ValueError("each tier's threshold must be above the one before")
                continue
            if set(higher.min_amounts) != set(first.min_amounts):
                raise ValueError("every tier must use the same measure and currencies")
            if any(higher.min_amounts[c] <= lower.min_amounts[c] for c in first.min_amounts):
                raise ValueError("each tier's threshold must be above the one before")

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (
            self.max_amounts,
            *(tier.min_amounts for tier in self.tiers),
            *(tier.amounts for tier in self.tiers),
        )

    def _reached(self, work: Work) -> Tier | None:
        by_quantity = self.tiers[0].min_quantity is not None
        measure = work.threshold_quantity() if by_quantity else work.threshold_amount()
        reached = None
        for tier in self.tiers:
            threshold = tier.min_quantity if by_quantity else tier.min_amounts[work.currency]
            assert threshold is not None
            if measure < threshold:
                break
            reached = tier
        return reached

    def requirement(self, work: Work) -> tuple[Reason, Shortfall | None] | None:
        if self._reached(work) is not None:
            return None
        first = self.tiers[0]
        if first.min_quantity is not None:
            units = work.threshold_quantity()
            return Reason.MIN_QUANTITY_NOT_MET, Shortfall(quantity=first.min_quantity - units)
        missing = first.min_amounts[work.currency] - work.threshold_amount()
        return Reason.MIN_SUBTOTAL_NOT_MET, Shortfall(amount=missing)

    def apply(self, work: Work) -> None:
        tier = self._reached(work)
        if tier is None:
            return
        if tier.basis_points is not None:
            amount = work.percent(tier.basis_points)
        else:
            amount = min(tier.amounts[work.currency], work.base_amount)
        if work.currency in self.max_amounts:
            amount = min(amount, self.max_amounts[work.currency])
        _spread(work, amount)


@dataclass(frozen=True, slots=True)
class FreeGift(_Demandless):
    """Tells the checkout to add sku at unit_price (0 unless set for the currency)."""

    kind: ClassVar[str] = "free_gift"
    stage: ClassVar[Stage] = Stage.SHIPPING
    sku: str
    quantity: int = 1
    unit_price_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.unit_price_amounts,)

    def apply(self, work: Work) -> None:
        price = self.unit_price_amounts.get(work.currency, 0)
        work.gifts.append(Gift(sku=self.sku, quantity=self.quantity, unit_price_amount=price))


def _method_refusal(methods: frozenset[str], work: Work) -> tuple[Reason, Shortfall | None] | None:
    if methods and work.shipping_method not in methods:
        return Reason.SHIPPING_METHOD_NOT_ELIGIBLE, None
    return None


@dataclass(frozen=True, slots=True)
class ShippingOff:
    """A fixed amount or basis_points (10,000 = free shipping) off the shipping, capped at
    max_amounts; never more than the shipping costs. With methods, only when the cart's chosen
    shipping method is one of them (the promotion's other effects apply either way; one with
    nothing else is refused as shipping_method_not_eligible)."""

    kind: ClassVar[str] = "shipping_off"
    stage: ClassVar[Stage] = Stage.SHIPPING
    reasons: ClassVar[frozenset[Reason]] = frozenset({Reason.SHIPPING_METHOD_NOT_ELIGIBLE})
    basis_points: int = 10_000
    amounts: Mapping[str, int] = field(default_factory=dict)
    max_amounts: Mapping[str, int] = field(default_factory=dict)
    methods: frozenset[str] = frozenset()

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts, self.max_amounts)

    def requirement(self, work: Work) -> tuple[Reason, Shortfall | None] | None:
        return _method_refusal(self.methods, work)

    def apply(self, work: Work) -> None:
        if self.methods and work.shipping_method not in self.methods:
            return
        if self.amounts:
            off = min(self.amounts[work.currency], work.shipping_amount)
        elif work.base is CalculationBase.BEFORE_DISCOUNTS:
            before = percent_of(work.shipping_before, self.basis_points, work.rounding)
            off = min(before, work.shipping_amount)
        else:
            off = percent_of(work.shipping_amount, self.basis_points, work.rounding)
        if work.currency in self.max_amounts:
            off = min(off, self.max_amounts[work.currency])
        work.shipping_amount -= off


@dataclass(frozen=True, slots=True)
class ShippingPrice:
    """Shipping costs at most amounts ('shipping costs 2.00'); with methods, only when the
    cart's chosen shipping method is one of them (as ShippingOff's methods)."""

    kind: ClassVar[str] = "shipping_price"
    stage: ClassVar[Stage] = Stage.SHIPPING
    reasons: ClassVar[frozenset[Reason]] = frozenset({Reason.SHIPPING_METHOD_NOT_ELIGIBLE})
    amounts: Mapping[str, int]
    methods: frozenset[str] = frozenset()

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.amounts,)

    def requirement(self, work: Work) -> tuple[Reason, Shortfall | None] | None:
        return _method_refusal(self.methods, work)

    def apply(self, work: Work) -> None:
        if self.methods and work.shipping_method not in self.methods:
            return
        work.shipping_amount = min(work.shipping_amount, self.amounts[work.currency])


@dataclass(frozen=True, slots=True)
class Cashback(_Demandless):
    """basis_points of what the eligible lines still cost at this point of the stacking order
    (give it the lowest priority to pay it on the final price), capped; credited after redeem."""

    kind: ClassVar[str] = "cashback"
    stage: ClassVar[Stage] = Stage.CASHBACK
    basis_points: int
    max_amounts: Mapping[str, int] = field(default_factory=dict)

    def money(self) -> tuple[Mapping[str, int], ...]:
        return (self.max_amounts,)

    def apply(self, work: Work) -> None:
        amount = work.percent(self.basis_points)
        if work.currency in self.max_amounts:
            amount = min(amount, self.max_amounts[work.currency])
        work.cashback_amount += amount


Effect: TypeAlias = (
    PercentOff
    | AmountOff
    | PercentOffEach
    | AmountOffEach
    | FixedPrice
    | BuyXGetY
    | Bundle
    | Tiered
    | FreeGift
    | ShippingOff
    | ShippingPrice
    | Cashback
)
