"""The cart a checkout asks about: immutable input to the engine."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CartLine:
    sku: str
    quantity: int
    unit_price_amount: int
    categories: frozenset[str] = field(default_factory=frozenset)

    @property
    def amount(self) -> int:
        return self.quantity * self.unit_price_amount

    @property
    def sort_key(self) -> tuple[str, int, int, tuple[str, ...]]:
        """What identifies a line regardless of its position in the request; ties between lines
        are broken by it, so reordering the lines never changes who gets a rounding cent."""
        categories = self.categories
        # Most lines have at most one category: no order to establish, so no sorted() call.
        ordered = tuple(sorted(categories)) if len(categories) > 1 else tuple(categories)
        return (self.sku, self.unit_price_amount, self.quantity, ordered)


@dataclass(frozen=True, slots=True)
class Cart:
    currency: str
    lines: tuple[CartLine, ...]
    shipping_amount: int = 0
    shipping_method: str | None = None
    """The chosen shipping method's id, when the checkout says (shipping_amount is its price)."""

    @property
    def subtotal_amount(self) -> int:
        return sum(line.amount for line in self.lines)
