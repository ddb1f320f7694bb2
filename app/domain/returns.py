"""Partial returns: what an order's discount becomes when some of its lines come back.

The promotions the order applied are applied again, as they were when it was redeemed (their
terms are kept with the redemption), to what stays (engine.reapply): thresholds, minimums and
"buy X get Y" see the smaller cart. No promotion gives more than it gave before (each is capped
at what it took), and a return never makes the shopper owe: when the discount lost is worth
more than what came back, nothing is refunded and the order keeps as much of its discount as
keeps its total where it was (the shipping discount first, then the line discounts).

What the smaller discount gives back, by whom it was given: the campaigns' money budgets get
the difference; balance codes (gift cards, wallets) get back what they paid beyond the new
total, the last payment first, so the shop's own payment is refunded first and the balance
codes last; cashback and loyalty points shrink with the order. Use limits, the redemption
budget and period counters are given back only when the whole order is (a rollback).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from app.domain.budgets import BudgetLeft, OverBudget
from app.domain.cart import Cart, CartLine
from app.domain.engine import reapply
from app.domain.ledger import Entry, Lot, Take
from app.domain.money import allocate
from app.domain.rules import Promotion, Rules, Stacking


@dataclass(frozen=True, slots=True)
class Terms:
    """A promotion as it applied to an order: what applying it again needs."""

    campaign_id: UUID
    name: str
    code_id: UUID | None
    code: str | None
    rules: Rules
    stacking: Stacking

    @classmethod
    def of(cls, promotion: Promotion) -> "Terms":
        return cls(
            campaign_id=promotion.campaign_id,
            name=promotion.name,
            code_id=promotion.code_id,
            code=promotion.code,
            rules=promotion.rules,
            stacking=promotion.stacking,
        )

    def promotion(self, cap: int) -> Promotion:
        """The promotion again, eligible, its campaign giving at most cap (what it gave
        before) when it gave anything (one that gave only cashback or gifts is not capped)."""
        return Promotion(
            campaign_id=self.campaign_id,
            name=self.name,
            rules=self.rules,
            code_id=self.code_id,
            code=self.code,
            stacking=self.stacking,
            budget=(
                BudgetLeft(redemptions=None, amount=cap, over_budget=OverBudget.REDUCE)
                if cap > 0
                else None
            ),
        )


@dataclass(frozen=True, slots=True)
class Item:
    """What one applied promotion gives an order as it stands."""

    position: int
    terms: Terms
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int

    @property
    def given(self) -> int:
        return self.discount_amount + self.shipping_discount_amount


@dataclass(frozen=True, slots=True)
class Order:
    """A redeemed order as it stands: its lines as redeemed, what was returned of each, its
    amounts now and its promotions' items."""

    currency: str
    lines: tuple[CartLine, ...]
    returned: tuple[int, ...]
    shipping_amount: int
    total_amount: int
    items: tuple[Item, ...]
    shipping_method: str | None = None


class ReturnRefused(ValueError):
    """The lines asked for are not in the order, or not that many are left."""


@dataclass(frozen=True, slots=True)
class Wanted:
    """Units of a sku to return: from the line at index (its position in the redeemed cart),
    or with index None from the sku's lines in the cart's order."""

    sku: str
    quantity: int
    index: int | None = None


def returned_quantities(order: Order, wanted: Sequence[Wanted]) -> tuple[int, ...]:
    """How many of each line are returned once wanted is (the lines it names first, then
    the skus). Raises ReturnRefused when a sku or line is not in the order or fewer of it are
    left."""
    returned = list(order.returned)
    # The lines named first, so that the order of the request never matters.
    for want in sorted(wanted, key=lambda w: w.index is None):
        sku, quantity = want.sku, want.quantity
        if want.index is not None:
            if want.index >= len(order.lines) or order.lines[want.index].sku != sku:
                raise ReturnRefused(f"The order has no line {want.index} with sku {sku!r}.")
            indexes = [want.index]
            what = f"line {want.index} (sku {sku!r})"
        else:
            indexes = [i for i, line in enumerate(order.lines) if line.sku == sku]
            what = f"sku {sku!r}"
        if not indexes:
            raise ReturnRefused(f"The order has no line with sku {sku!r}.")
        left = sum(order.lines[i].quantity - returned[i] for i in indexes)
        if quantity > left:
            raise ReturnRefused(
                f"Only {left} of {what} are left in the order to return, not {quantity} "
                "(counting the lines before it in this request and earlier returns)."
            )
        for i in indexes:
            take = min(quantity, order.lines[i].quantity - returned[i])
            returned[i] += take
            quantity -= take
    return tuple(returned)


@dataclass(frozen=True, slots=True)
class ItemAfter:
    """One promotion's share of the order after a return, and what it gave back."""

    position: int
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    given_back_amount: int
    """Discount (lines and shipping) it no longer gives."""


@dataclass(frozen=True, slots=True)
class Recomputed:
    """The order after a return: its amounts, and each item's."""

    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    shipping_discount_amount: int
    total_amount: int
    refund_amount: int
    """What the order's total went down by: what the shopper gets back for the lines."""
    items: tuple[ItemAfter, ...]

    @property
    def cashback_amount(self) -> int:
        return sum(item.cashback_amount for item in self.items)


def recompute(order: Order, returned: Sequence[int], max_discounts: int) -> Recomputed:
    """The order once returned (per line, in all) is back: its promotions applied again to
    what stays, no item above what it gave, the total never above what it was."""
    kept_lines = tuple(
        CartLine(line.sku, line.quantity - back, line.unit_price_amount, line.categories)
        for line, back in zip(order.lines, returned, strict=True)
        if line.quantity > back
    )
    cart = Cart(order.currency, kept_lines, order.shipping_amount, order.shipping_method)
    # Capped as at redeem: what each campaign gave (a budget caps a campaign, not a code).
    caps: dict[UUID, int] = {}
    for item in order.items:
        caps[item.terms.campaign_id] = caps.get(item.terms.campaign_id, 0) + item.given
    promotions = [
        (item.terms.promotion(caps[item.terms.campaign_id]), item.terms.code)
        for item in order.items
    ]
    evaluation = reapply(cart, promotions, max_discounts)
    by_promotion = {id(a.promotion): a for a in evaluation.applied}
    lines_off: list[int] = []
    shipping_off: list[int] = []
    cashback: list[int] = []
    for (promotion, _), item in zip(promotions, order.items, strict=True):
        application = by_promotion.get(id(promotion))
        if application is None:
            lines_off.append(0)
            shipping_off.append(0)
            cashback.append(0)
            continue
        # Never more than it gave before, part by part.
        lines_off.append(min(application.discount_amount, item.discount_amount))
        shipping_off.append(
            min(application.shipping_discount_amount, item.shipping_discount_amount)
        )
        cashback.append(min(application.cashback_amount, item.cashback_amount))
    subtotal = cart.subtotal_amount
    total = subtotal - sum(lines_off) + order.shipping_amount - sum(shipping_off)
    over = total - order.total_amount
    if over > 0:
        # The discount lost is worth more than what came back: keep enough of it that the
        # total stays where it was, shipping discounts first. There is room: `over` is the
        # discount lost less the price of the lines returned, so it never exceeds what was
        # lost, and what the lines keep never exceeds the price of the lines that stay.
        shipping_lost = [
            item.shipping_discount_amount - off
            for item, off in zip(order.items, shipping_off, strict=True)
        ]
        from_shipping = min(over, sum(shipping_lost))
        shipping_off = [
            off + kept
            for off, kept in zip(shipping_off, allocate(from_shipping, shipping_lost), strict=True)
        ]
        lines_lost = [
            item.discount_amount - off for item, off in zip(order.items, lines_off, strict=True)
        ]
        lines_off = [
            off + kept
            for off, kept in zip(lines_off, allocate(over - from_shipping, lines_lost), strict=True)
        ]
        total = order.total_amount
    items = tuple(
        ItemAfter(
            position=item.position,
            discount_amount=lines,
            shipping_discount_amount=shipping,
            cashback_amount=back,
            given_back_amount=item.given - lines - shipping,
        )
        for item, lines, shipping, back in zip(
            order.items, lines_off, shipping_off, cashback, strict=True
        )
    )
    return Recomputed(
        subtotal_amount=subtotal,
        discount_amount=sum(lines_off),
        shipping_amount=order.shipping_amount,
        shipping_discount_amount=sum(shipping_off),
        total_amount=total,
        refund_amount=order.total_amount - total,
        items=items,
    )


@dataclass(frozen=True, slots=True)
class PaidLot:
    """What one payment of the order took from one lot, less what was refunded into it."""

    payment_id: UUID
    lot_id: UUID
    amount: int


def paid_lots(
    payments: Sequence[Entry], refunds: Sequence[Entry], allocations: Mapping[UUID, Sequence[Take]]
) -> list[PaidLot]:
    """What an order's payments (in payment order) still hold of each lot they took from:
    their allocations less what refunds (details.refunds names the payment) put back."""
    refunded: dict[tuple[UUID, UUID], int] = {}
    for refund in refunds:
        payment_id = UUID(str(refund.details["refunds"]))
        for take in allocations[refund.id]:
            key = (payment_id, take.lot_id)
            refunded[key] = refunded.get(key, 0) + take.amount
    held = []
    for payment in payments:
        for take in allocations[payment.id]:
            left = take.amount - refunded.get((payment.id, take.lot_id), 0)
            if left > 0:
                held.append(PaidLot(payment.id, take.lot_id, left))
    return held


def in_refund_order(
    held: Sequence[PaidLot], lots: Mapping[UUID, Lot], now: datetime
) -> list[PaidLot]:
    """held (in payment order) with each payment's lots in the order balance_refunds puts
    money back last: expired lots, then those expiring soonest; so a partial refund goes into
    the lot that keeps it spendable longest."""

    def kept_for(paid: PaidLot) -> tuple[bool, datetime]:
        lot = lots[paid.lot_id]
        return (not lot.is_expired(now), lot.expires_at or datetime.max.replace(tzinfo=UTC))

    by_payment: dict[UUID, list[PaidLot]] = {}
    for paid in held:
        by_payment.setdefault(paid.payment_id, []).append(paid)
    return [paid for group in by_payment.values() for paid in sorted(group, key=kept_for)]


def balance_refunds(paid: Sequence[PaidLot], new_total: int) -> dict[UUID, list[Take]]:
    """What goes back into each payment's lots when the order's total drops to new_total: the
    balance codes keep paying up to the new total, and what they paid beyond it comes back,
    the last payment (and within it, the last lot) first. paid is in payment order."""
    back = sum(lot.amount for lot in paid) - new_total
    refunds: dict[UUID, list[Take]] = {}
    for lot in reversed(paid):
        if back <= 0:
            break
        amount = min(back, lot.amount)
        if amount > 0:
            refunds.setdefault(lot.payment_id, []).append(Take(lot.lot_id, amount))
            back -= amount
    return refunds


@dataclass(frozen=True, slots=True)
class ReturnedShare:
    """What one return took off an order's total, of what the total was before it."""

    total_before: int
    refund: int


def share_to_take_back(left: int, returned: ReturnedShare) -> int:
    """How much of what is left of a credit earned on an order (points) one return takes
    back: the share of the order's total it refunded (rounded half up). Return after return,
    each takes its share of what the ones before left, so a credit earned before any return
    loses the returned share of the whole order, and one earned after some returns (on what
    stayed) the share of what it was earned on; a return that refunds all of what was left
    takes all of it. Nothing while the order costs nothing."""
    if returned.total_before <= 0 or returned.refund <= 0 or left <= 0:
        return 0
    if returned.refund >= returned.total_before:
        return left
    return (left * returned.refund * 2 + returned.total_before) // (returned.total_before * 2)
