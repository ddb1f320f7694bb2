"""The cart a checkout asks about: immutable input to the engine."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int
    unit_price_amount: int

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price_amount


@dataclass(frozen=True, slots=True)
class Cart:
    currency: str
    lines: tuple[CartLine, ...]

    @property
    def subtotal_amount(self) -> int:
        return sum(line.amount for line in self.lines)
