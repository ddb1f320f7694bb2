"""A cart line as the engine works on it: its units grouped by what each still costs.

Every effect takes money off units, so per-line and per-unit amounts stay exact integers: a
line's discount is its original amount minus what its units still cost, and no unit ever costs
less than zero.
"""

from dataclasses import dataclass, field

from app.domain.cart import CartLine
from app.domain.money import allocate


@dataclass(slots=True)
class LineState:
    index: int
    line: CartLine
    key: tuple[object, ...]
    # unit amount still charged -> how many units cost that; change only through the methods
    units: dict[int, int] = field(default_factory=dict)
    remaining: int = 0
    is_discounted: bool = False
    is_locked: bool = False

    @classmethod
    def of(cls, index: int, line: CartLine) -> "LineState":
        # Positional, and the line's fields read once: this runs for every line of every
        # evaluation.
        unit, quantity = line.unit_price_amount, line.quantity
        return cls(index, line, (*line.sort_key, index), {unit: quantity}, unit * quantity)

    @property
    def quantity(self) -> int:
        return self.line.quantity

    @property
    def discount_amount(self) -> int:
        return self.line.amount - self.remaining

    def take(self, amount: int) -> None:
        """Take amount off the line, spread over its units as evenly as integers allow: units of
        one price lose the same, or one minor unit more (the dearer groups first)."""
        if not 0 <= amount <= self.remaining:
            raise ValueError("take() needs 0 <= amount <= remaining")
        if amount == 0:
            return
        if len(self.units) == 1:
            # The common case (no unit-level effect split the line): one price group takes all
            # of amount, so there is nothing to sort or allocate. Same result as below.
            [(unit, count)] = self.units.items()
            each, extra = divmod(amount, count)
            self.units = {unit - each - 1: extra} if extra else {}
            _add(self.units, unit - each, count - extra)
            self.remaining -= amount
            return
        groups = sorted(self.units.items(), reverse=True)
        parts = allocate(amount, [unit * count for unit, count in groups])
        units: dict[int, int] = {}
        for (unit, count), part in zip(groups, parts, strict=True):
            each, extra = divmod(part, count)
            _add(units, unit - each - 1, extra)
            _add(units, unit - each, count - extra)
        self.units = units
        self.remaining -= amount

    def reprice(self, unit_amount: int, count: int, new_unit_amount: int) -> None:
        """Charge new_unit_amount (0 <= new <= old) for count units that cost unit_amount."""
        if not 0 <= new_unit_amount <= unit_amount or not 0 < count <= self.units[unit_amount]:
            raise ValueError("reprice() can only lower the price of units the line has")
        self.units[unit_amount] -= count
        if self.units[unit_amount] == 0:
            del self.units[unit_amount]
        _add(self.units, new_unit_amount, count)
        self.remaining -= (unit_amount - new_unit_amount) * count

    def unit_discounts(self) -> list[tuple[int, int]]:
        """(discount per unit, how many units) pairs, largest discount first."""
        original = self.line.unit_price_amount
        if len(self.units) == 1:
            # One price group (most lines): nothing to order.
            [(unit, count)] = self.units.items()
            return [(original - unit, count)]
        return sorted(
            [(original - unit, count) for unit, count in self.units.items()], reverse=True
        )


def _add(units: dict[int, int], unit: int, count: int) -> None:
    if count:
        units[unit] = units.get(unit, 0) + count
