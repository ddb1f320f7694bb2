"""Partial returns of a redeemed order (domain/returns.py has the rules): one transaction per
return, under the redemption's row lock (a rollback or another return of it waits), once per
Idempotency-Key. Returning the last lines rolls the redemption back: only then do its use
limits, its campaigns' redemption budgets and its period counters come back."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from app import metrics
from app.db.repositories.redemptions import (
    OrderAmounts,
    RedemptionItemRecord,
    RedemptionRecord,
    ReturnBasis,
)
from app.db.uow import UnitOfWork
from app.domain.ledger import Entry, taken_back
from app.domain.returns import (
    Item,
    Order,
    Recomputed,
    ReturnedShare,
    ReturnRefused,
    Wanted,
    recompute,
    returned_quantities,
)
from app.rendering import plain
from app.services import balances, members
from app.services.checkout_results import BalanceRefund, ReturnedLine
from app.services.errors import InvalidReturn, NotReturnable, RedemptionNotFound
from app.services.idempotency import IdempotencyClaim, Written, write_once
from app.services.redemptions import give_back_the_rest


@dataclass(frozen=True, slots=True)
class PromotionAfterReturn:
    """One promotion of the order after the return."""

    campaign_id: UUID
    code: str | None
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    given_back_amount: int
    """The discount it gave the order and no longer does (back to its campaign's budget)."""


@dataclass(frozen=True, slots=True)
class PointsReversed:
    """Points the order's returned part had earned, taken back in one loyalty program."""

    program_id: UUID
    points: int
    """The returned part's share of what the order earned."""
    forgiven_points: int
    """Of those, what the member had spent already and the program forgave (it does when it
    does not allow a negative balance; otherwise they became debt)."""


@dataclass(frozen=True, slots=True)
class Return:
    """A return as POST /v1/redemptions/{id}/returns answers it."""

    id: UUID
    redemption_id: UUID
    order_id: str | None
    created_at: datetime
    lines: tuple[ReturnedLine, ...]
    """What this return brought back, by the redeemed cart's lines."""
    order_returned: bool
    """Every line is back now: the redemption is rolled back, and its use limits,
    redemption budgets and period counters are given back too."""
    total_amount_before: int
    subtotal_amount: int
    discount_amount: int
    shipping_discount_amount: int
    total_amount: int
    """The order's total as it stands now (0 once it is all returned)."""
    refund_amount: int
    """What the total went down by: what the shopper gets back for this return."""
    balance_refunds: tuple[BalanceRefund, ...]
    balance_refunded_amount: int
    external_refund_amount: int
    """refund_amount less what went back to gift cards and wallets: what the shop refunds
    through its own payment."""
    cashback_reversed_amount: int
    points_reversed: tuple[PointsReversed, ...]
    promotions: tuple[PromotionAfterReturn, ...]


async def return_lines(
    uow: UnitOfWork,
    redemption_id: UUID,
    wanted: tuple[Wanted, ...],
    claim: IdempotencyClaim,
    now: datetime,
    max_discounts: int,
) -> Written[Return]:
    """Return wanted of the redeemed order, once per key. max_discounts: the service's
    limit now (a redemption that applied more, under a higher one, applies them all again)."""

    async def work() -> Return:
        basis = await uow.redemptions.lock_for_return(redemption_id)
        if basis is None:
            raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
        order = _order(basis)
        try:
            returned = returned_quantities(order, wanted)
        except ReturnRefused as refused:
            raise InvalidReturn(str(refused), fields=["lines"]) from None
        this_time = tuple(
            ReturnedLine(index, line.sku, after - before)
            for index, (line, before, after) in enumerate(
                zip(order.lines, order.returned, returned, strict=True)
            )
            if after > before
        )
        if all(back == line.quantity for back, line in zip(returned, order.lines, strict=True)):
            return await _return_all(uow, basis, returned, this_time, claim.api_key_id, now)
        recomputed = recompute(order, returned, max(max_discounts, len(order.items)))
        return await _return_some(
            uow, basis, returned, this_time, recomputed, claim.api_key_id, now
        )

    written = await write_once(uow, claim, work)
    if isinstance(written.answer, Return) and written.answer.order_returned:
        metrics.rollback_performed()  # committed: the redemption is rolled back
    return written


async def list_returns(uow: UnitOfWork, redemption_id: UUID) -> list[dict[str, Any]]:
    """A redemption's returns as they answered, oldest first."""
    async with uow:
        if await uow.redemptions.get(redemption_id) is None:
            raise RedemptionNotFound(f"No redemption has id {redemption_id}.")
        return await uow.redemptions.returns(redemption_id)


def _order(basis: ReturnBasis) -> Order:
    record = basis.record
    if record.status != "succeeded":
        hint = " (redeem or release the hold first)" if record.status == "held" else ""
        raise NotReturnable(
            f"Only a redeemed order's lines can be returned; this redemption is {record.status}"
            f"{hint}."
        )
    if basis.lines is None or any(item.terms is None for item in basis.items):
        raise NotReturnable(
            "This redemption was recorded before partial returns existed: it can only be "
            "rolled back as a whole."
        )
    items = []
    for item in basis.items:
        assert item.terms is not None
        items.append(
            Item(
                position=item.position,
                terms=item.terms,
                discount_amount=item.discount_amount,
                shipping_discount_amount=item.shipping_discount_amount,
                cashback_amount=item.cashback_amount,
            )
        )
    return Order(
        currency=basis.currency,
        lines=basis.lines,
        returned=basis.returned,
        shipping_amount=basis.amounts.shipping_amount,
        total_amount=basis.amounts.total_amount,
        items=tuple(items),
        shipping_method=basis.shipping_method,
    )


async def _return_some(
    uow: UnitOfWork,
    basis: ReturnBasis,
    returned: tuple[int, ...],
    this_time: tuple[ReturnedLine, ...],
    recomputed: Recomputed,
    api_key_id: UUID,
    now: datetime,
) -> Return:
    """Some lines stay: the order's amounts and items as recomputed, and the difference given
    back to budgets, balance codes, the cashback and the order's points."""
    record = basis.record
    after = {item.position: item for item in recomputed.items}
    items = [
        RedemptionItemRecord(
            position=item.position,
            code_id=item.code_id,
            campaign_id=item.campaign_id,
            discount_amount=after[item.position].discount_amount,
            shipping_discount_amount=after[item.position].shipping_discount_amount,
            cashback_amount=after[item.position].cashback_amount,
            counted_code_customer=item.counted_code_customer,
            counted_campaign_customer=item.counted_campaign_customer,
            budget_redemption=item.budget_redemption,
            budget_amount=(
                None
                if item.budget_amount is None
                else item.budget_amount - after[item.position].given_back_amount
            ),
        )
        for item in basis.items
    ]
    await uow.redemptions.record_return(
        record.id,
        returned,
        OrderAmounts(
            subtotal_amount=recomputed.subtotal_amount,
            discount_amount=recomputed.discount_amount,
            shipping_amount=recomputed.shipping_amount,
            shipping_discount_amount=recomputed.shipping_discount_amount,
            total_amount=recomputed.total_amount,
            cashback_amount=recomputed.cashback_amount,
        ),
        items,
    )
    await uow.campaigns.give_back_amounts(
        [
            (item.campaign_id, basis.currency, after[item.position].given_back_amount)
            for item in basis.items
            if item.budget_amount is not None and after[item.position].given_back_amount > 0
        ]
    )
    given = await balances.give_back_balances(
        uow,
        record.id,
        now,
        api_key_id,
        kept=(recomputed.total_amount, recomputed.cashback_amount),
        paid_in_order=[payment["code"] for payment in record.result.get("payments", ())],
    )
    points: list[Entry] = []
    if record.order_id is not None:
        points = await members.reverse_order_points(
            uow,
            record.order_id,
            now,
            redemption_id=record.id,
            api_key_id=api_key_id,
            returned=ReturnedShare(basis.amounts.total_amount, recomputed.refund_amount),
        )
    promotions = tuple(
        PromotionAfterReturn(
            campaign_id=item.campaign_id,
            code=None if item.terms is None else item.terms.code,
            discount_amount=after[item.position].discount_amount,
            shipping_discount_amount=after[item.position].shipping_discount_amount,
            cashback_amount=after[item.position].cashback_amount,
            given_back_amount=after[item.position].given_back_amount,
        )
        for item in basis.items
    )
    return await _recorded(
        uow,
        basis,
        this_time,
        order_returned=False,
        amounts=(
            recomputed.subtotal_amount,
            recomputed.discount_amount,
            recomputed.shipping_discount_amount,
            recomputed.total_amount,
        ),
        given=given,
        points=points,
        promotions=promotions,
        api_key_id=api_key_id,
        now=now,
    )


async def _return_all(
    uow: UnitOfWork,
    basis: ReturnBasis,
    returned: tuple[int, ...],
    this_time: tuple[ReturnedLine, ...],
    api_key_id: UUID,
    now: datetime,
) -> Return:
    """The last lines: the redemption is rolled back, and gives back all it still holds."""
    record = basis.record
    await uow.redemptions.record_return(
        record.id,
        returned,
        OrderAmounts(
            subtotal_amount=0,
            discount_amount=0,
            shipping_amount=0,
            shipping_discount_amount=0,
            total_amount=0,
            cashback_amount=0,
        ),
        (),
    )
    rolled = await uow.redemptions.mark_rolled_back(record.id)
    assert rolled is not None, "the locked redemption was succeeded"
    given = await give_back_the_rest(uow, rolled, now, api_key_id)
    promotions = tuple(
        PromotionAfterReturn(
            campaign_id=item.campaign_id,
            code=None if item.terms is None else item.terms.code,
            discount_amount=0,
            shipping_discount_amount=0,
            cashback_amount=0,
            given_back_amount=item.discount_amount + item.shipping_discount_amount,
        )
        for item in basis.items
    )
    return await _recorded(
        uow,
        basis,
        this_time,
        order_returned=True,
        amounts=(0, 0, 0, 0),
        given=given.balances,
        points=list(given.points),
        promotions=promotions,
        api_key_id=api_key_id,
        now=now,
    )


async def _recorded(
    uow: UnitOfWork,
    basis: ReturnBasis,
    this_time: tuple[ReturnedLine, ...],
    *,
    order_returned: bool,
    amounts: tuple[int, int, int, int],
    given: balances.GivenBack,
    points: list[Entry],
    promotions: tuple[PromotionAfterReturn, ...],
    api_key_id: UUID,
    now: datetime,
) -> Return:
    """The return's answer, kept with the redemption."""
    record: RedemptionRecord = basis.record
    subtotal, discount, shipping_discount, total = amounts
    refund = basis.amounts.total_amount - total
    answer = Return(
        id=uuid4(),
        redemption_id=record.id,
        order_id=record.order_id,
        created_at=now,
        lines=this_time,
        order_returned=order_returned,
        total_amount_before=basis.amounts.total_amount,
        subtotal_amount=subtotal,
        discount_amount=discount,
        shipping_discount_amount=shipping_discount,
        total_amount=total,
        refund_amount=refund,
        balance_refunds=given.refunds,
        balance_refunded_amount=given.refunded_amount,
        external_refund_amount=refund - given.refunded_amount,
        cashback_reversed_amount=given.cashback_reversed,
        points_reversed=tuple([await _points_reversed(uow, entry) for entry in points]),
        promotions=promotions,
    )
    await uow.redemptions.insert_return(
        return_id=answer.id,
        redemption_id=record.id,
        api_key_id=api_key_id,
        refund_amount=refund,
        result=plain(answer),
        created_at=now,
    )
    return answer


async def _points_reversed(uow: UnitOfWork, reversal: Entry) -> PointsReversed:
    account = await uow.ledger.get(reversal.account_id)
    assert account is not None, "a reversal's account exists"
    assert account.program_id is not None, "points accounts belong to a program"
    forgiven = int(str(reversal.details["forgiven"]))
    return PointsReversed(account.program_id, taken_back(reversal), forgiven)
