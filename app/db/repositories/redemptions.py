from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import case, func, insert, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import aliased

from app.db.mappers import AnyRow, lines_from_json, lines_to_json, terms_from_json, terms_to_json
from app.db.models import Campaign as CampaignRow
from app.db.models import CustomerUsage, Redemption, RedemptionItem, RedemptionReturn
from app.db.repositories.base import Repository
from app.domain.cart import CartLine
from app.domain.periods import PeriodTake
from app.domain.returns import Terms


@dataclass(frozen=True, slots=True)
class RedemptionItemRecord:
    position: int
    code_id: UUID | None
    campaign_id: UUID
    discount_amount: int
    shipping_discount_amount: int
    cashback_amount: int
    counted_code_customer: bool
    counted_campaign_customer: bool
    budget_redemption: bool = False
    """Its campaign's redemption budget counted this redemption."""
    budget_amount: int | None = None
    """What its discounts added to its campaign's money budget in the order's currency."""
    terms: Terms | None = None
    """The promotion as it applied (None: recorded before partial returns existed)."""


@dataclass(frozen=True, slots=True)
class RedemptionRecord:
    id: UUID
    customer_id: str | None
    order_id: str | None
    status: str
    result: dict[str, Any]
    created_at: datetime
    rolled_back_at: datetime | None
    expires_at: datetime | None = None
    """A hold's end (it stays once the hold is redeemed, released or lapsed)."""
    returned: "ReturnedRecord | None" = None
    """What was returned of its order's lines, and the order as it stands (None: nothing)."""


@dataclass(frozen=True, slots=True)
class ReturnedRecord:
    """A partly returned order's lines and quantities returned, and its amounts now."""

    lines: tuple[CartLine, ...]
    quantities: tuple[int, ...]
    amounts: "OrderAmounts"


@dataclass(frozen=True, slots=True)
class OrderAmounts:
    """A redeemed order's amounts as it stands."""

    subtotal_amount: int
    discount_amount: int
    shipping_amount: int
    shipping_discount_amount: int
    total_amount: int
    cashback_amount: int


@dataclass(frozen=True, slots=True)
class ReturnBasis:
    """A redemption locked for a return: what the return applies its promotions again to."""

    record: RedemptionRecord
    currency: str
    lines: tuple[CartLine, ...] | None
    """None: recorded before partial returns existed."""
    returned: tuple[int, ...]
    amounts: OrderAmounts
    items: tuple[RedemptionItemRecord, ...]
    shipping_method: str | None = None


_COLUMNS = (
    Redemption.id,
    Redemption.customer_id,
    Redemption.order_id,
    Redemption.status,
    Redemption.result,
    Redemption.created_at,
    Redemption.rolled_back_at,
    Redemption.expires_at,
    Redemption.returned_quantities,
    # Only a partly returned redemption needs its lines and amounts now.
    case((Redemption.returned_quantities.is_not(None), Redemption.lines)).label("lines"),
    Redemption.subtotal_amount,
    Redemption.discount_amount,
    Redemption.shipping_amount,
    Redemption.shipping_discount_amount,
    Redemption.total_amount,
    Redemption.cashback_amount,
)


class RedemptionRepository(Repository):
    async def consume_customer_use(
        self, subject: str, subject_id: UUID, customer_id: str, limit: int
    ) -> bool:
        """Count one more use by the customer unless that reaches past limit. The unique key
        serialises racing first uses; the WHERE on the conflict path enforces the limit."""
        insert_usage = pg_insert(CustomerUsage).values(
            subject=subject, subject_id=subject_id, customer_id=customer_id, redemption_count=1
        )
        stmt = insert_usage.on_conflict_do_update(
            index_elements=[
                CustomerUsage.subject,
                CustomerUsage.subject_id,
                CustomerUsage.customer_id,
            ],
            set_={"redemption_count": CustomerUsage.redemption_count + 1},
            where=CustomerUsage.redemption_count < limit,
        ).returning(CustomerUsage.redemption_count)
        return (await self.session.execute(stmt)).first() is not None

    async def release_customer_use(self, subject: str, subject_id: UUID, customer_id: str) -> None:
        await self.session.execute(
            update(CustomerUsage)
            .where(
                CustomerUsage.subject == subject,
                CustomerUsage.subject_id == subject_id,
                CustomerUsage.customer_id == customer_id,
                CustomerUsage.redemption_count > 0,
            )
            .values(redemption_count=CustomerUsage.redemption_count - 1)
        )

    async def insert(
        self,
        *,
        api_key_id: UUID,
        customer_id: str | None,
        order_id: str | None,
        currency: str,
        subtotal_amount: int,
        discount_amount: int,
        shipping_amount: int,
        shipping_discount_amount: int,
        cashback_amount: int,
        result: dict[str, Any],
        items: Sequence[RedemptionItemRecord],
        redemption_id: UUID | None = None,
        held_until: datetime | None = None,
        period_takes: Sequence[PeriodTake] = (),
        lines: Sequence[CartLine] = (),
        shipping_method: str | None = None,
    ) -> RedemptionRecord:
        """Record a redemption (under redemption_id when the caller needs the id before), or
        with held_until a hold."""
        row = (
            await self.session.execute(
                insert(Redemption)
                .values(
                    **({"id": redemption_id} if redemption_id is not None else {}),
                    api_key_id=api_key_id,
                    customer_id=customer_id,
                    order_id=order_id,
                    currency=currency,
                    subtotal_amount=subtotal_amount,
                    discount_amount=discount_amount,
                    shipping_amount=shipping_amount,
                    shipping_discount_amount=shipping_discount_amount,
                    total_amount=subtotal_amount
                    - discount_amount
                    + shipping_amount
                    - shipping_discount_amount,
                    cashback_amount=cashback_amount,
                    result=result,
                    status="succeeded" if held_until is None else "held",
                    expires_at=held_until,
                    period_takes=[
                        [
                            str(take.key.campaign_id),
                            take.key.per.value,
                            take.key.subject,
                            take.key.period.value,
                            take.key.starts.isoformat(),
                        ]
                        for take in period_takes
                    ],
                    lines=lines_to_json(lines),
                    shipping_method=shipping_method,
                )
                .returning(*_COLUMNS)
            )
        ).one()
        if not items:
            return record_of(row)
        await self.session.execute(
            insert(RedemptionItem),
            [
                {
                    "redemption_id": row.id,
                    "position": item.position,
                    "code_id": item.code_id,
                    "campaign_id": item.campaign_id,
                    "discount_amount": item.discount_amount,
                    "shipping_discount_amount": item.shipping_discount_amount,
                    "cashback_amount": item.cashback_amount,
                    "counted_code_customer": item.counted_code_customer,
                    "counted_campaign_customer": item.counted_campaign_customer,
                    "budget_redemption": item.budget_redemption,
                    "budget_amount": item.budget_amount,
                    "terms": None if item.terms is None else terms_to_json(item.terms),
                    "created_at": row.created_at,
                }
                for item in items
            ],
        )
        return record_of(row)

    async def get(
        self, redemption_id: UUID, *, for_update: bool = False
    ) -> RedemptionRecord | None:
        stmt = select(*_COLUMNS).where(Redemption.id == redemption_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else record_of(row)

    async def redeem_hold(self, hold_id: UUID, result: dict[str, Any]) -> RedemptionRecord:
        """Turn a hold locked by get(for_update=True) into a redemption: what it holds is
        kept, nothing is taken again. result: what it keeps, with the cashback it credited."""
        row = (
            await self.session.execute(
                update(Redemption)
                .where(Redemption.id == hold_id, Redemption.status == "held")
                .values(status="succeeded", result=result)
                .returning(*_COLUMNS)
            )
        ).one()
        return record_of(row)

    async def list_page(
        self,
        *,
        order_id: str | None = None,
        customer_id: str | None = None,
        code_id: UUID | None = None,
        campaign_id: UUID | None = None,
        limit: int,
        before: tuple[datetime, UUID] | None = None,
    ) -> list[RedemptionRecord]:
        """Newest first, every filter given holding (none: all). By code or campaign the walk
        follows their items' index in time order (a redemption with two codes of one campaign
        is listed once), otherwise the customer's, the order's or all redemptions'."""
        stmt = select(*_COLUMNS).limit(limit)
        if code_id is not None or campaign_id is not None:
            item = RedemptionItem
            stmt = stmt.join(item, item.redemption_id == Redemption.id).order_by(
                item.created_at.desc(), item.redemption_id.desc()
            )
            if code_id is not None:
                stmt = stmt.where(item.code_id == code_id)
            if campaign_id is not None:
                stmt = stmt.where(item.campaign_id == campaign_id)
            if campaign_id is not None and code_id is None:
                # Two codes of the campaign in one redemption: its first item stands for it.
                other = aliased(RedemptionItem)
                earlier = select(other.position).where(
                    other.redemption_id == item.redemption_id,
                    other.campaign_id == item.campaign_id,
                    other.position < item.position,
                )
                stmt = stmt.where(~earlier.exists())
            if before is not None:
                stmt = stmt.where(tuple_(item.created_at, item.redemption_id) < tuple_(*before))
        else:
            stmt = stmt.order_by(Redemption.created_at.desc(), Redemption.id.desc())
            if before is not None:
                stmt = stmt.where(tuple_(Redemption.created_at, Redemption.id) < tuple_(*before))
        if order_id is not None:
            stmt = stmt.where(Redemption.order_id == order_id)
        if customer_id is not None:
            stmt = stmt.where(Redemption.customer_id == customer_id)
        return [record_of(row) for row in await self.session.execute(stmt)]

    async def mark_rolled_back(
        self,
        redemption_id: UUID,
        *,
        holds_only: bool = False,
        lapsed_by: datetime | None = None,
    ) -> RedemptionRecord | None:
        """Flip a succeeded redemption to rolled_back, or a hold to released (as the rollback
        statement does; holds_only: only a hold; lapsed_by: only a hold that ended by then, to
        expired); None when it is none of those (or no longer), so the caller restores
        counters exactly once."""
        held = Redemption.status == "held"
        if lapsed_by is not None:
            held = held & (Redemption.expires_at <= lapsed_by)
        which = (
            held
            if holds_only or lapsed_by is not None
            else held | (Redemption.status == "succeeded")
        )
        ended = "expired" if lapsed_by is not None else "released"
        row = (
            await self.session.execute(
                update(Redemption)
                .where(Redemption.id == redemption_id, which)
                .values(
                    status=case((Redemption.status == "held", ended), else_="rolled_back"),
                    rolled_back_at=func.now(),
                )
                .returning(*_COLUMNS)
            )
        ).one_or_none()
        return None if row is None else record_of(row)

    async def items(self, redemption_id: UUID) -> list[RedemptionItemRecord]:
        rows = await self.session.execute(
            select(*_ITEM_COLUMNS)
            .where(RedemptionItem.redemption_id == redemption_id)
            .order_by(RedemptionItem.code_id.nulls_last(), RedemptionItem.position)
        )
        return [_item(row) for row in rows]

    async def lock_for_return(self, redemption_id: UUID) -> ReturnBasis | None:
        """The redemption, locked (a rollback or another return waits), with its lines, what
        was returned of them, and its items with their terms, in position order; None when
        there is no such redemption."""
        row = (
            await self.session.execute(
                select(
                    *_COLUMNS,
                    Redemption.currency,
                    Redemption.lines.label("all_lines"),
                    Redemption.shipping_method,
                )
                .where(Redemption.id == redemption_id)
                .with_for_update(of=Redemption)
            )
        ).one_or_none()
        if row is None:
            return None
        # Its campaigns, shared: a budget set on one (which locks it) waits, or is waited
        # for, so the items read below say what its budgets counted.
        campaigns = (
            select(RedemptionItem.campaign_id)
            .where(RedemptionItem.redemption_id == redemption_id)
            .scalar_subquery()
        )
        await self.session.execute(
            select(CampaignRow.id)
            .where(CampaignRow.id.in_(campaigns))
            .order_by(CampaignRow.id)
            .with_for_update(read=True)
        )
        items = await self.session.execute(
            select(*_ITEM_COLUMNS, RedemptionItem.terms)
            .where(RedemptionItem.redemption_id == redemption_id)
            .order_by(RedemptionItem.position)
        )
        lines = None if row.all_lines is None else lines_from_json(row.all_lines)
        return ReturnBasis(
            record=record_of(row),
            currency=row.currency,
            lines=lines,
            shipping_method=row.shipping_method,
            returned=(
                tuple(row.returned_quantities)
                if row.returned_quantities is not None
                else (0,) * len(lines or ())
            ),
            amounts=_amounts(row),
            items=tuple(
                _item(
                    item,
                    None
                    if item.terms is None
                    else terms_from_json(item.terms, item.campaign_id, item.code_id),
                )
                for item in items
            ),
        )

    async def record_return(
        self,
        redemption_id: UUID,
        returned: Sequence[int],
        amounts: OrderAmounts,
        items: Sequence[RedemptionItemRecord],
    ) -> RedemptionRecord:
        """Set a locked redemption's returned quantities, its amounts now and its items'."""
        row = (
            await self.session.execute(
                update(Redemption)
                .where(Redemption.id == redemption_id)
                .values(
                    returned_quantities=list(returned),
                    subtotal_amount=amounts.subtotal_amount,
                    discount_amount=amounts.discount_amount,
                    shipping_amount=amounts.shipping_amount,
                    shipping_discount_amount=amounts.shipping_discount_amount,
                    total_amount=amounts.total_amount,
                    cashback_amount=amounts.cashback_amount,
                )
                .returning(*_COLUMNS)
            )
        ).one()
        for item in items:
            await self.session.execute(
                update(RedemptionItem)
                .where(
                    RedemptionItem.redemption_id == redemption_id,
                    RedemptionItem.position == item.position,
                )
                .values(
                    discount_amount=item.discount_amount,
                    shipping_discount_amount=item.shipping_discount_amount,
                    cashback_amount=item.cashback_amount,
                    budget_amount=item.budget_amount,
                )
            )
        return record_of(row)

    async def insert_return(
        self,
        *,
        return_id: UUID,
        redemption_id: UUID,
        api_key_id: UUID,
        refund_amount: int,
        result: dict[str, Any],
        created_at: datetime,
    ) -> None:
        await self.session.execute(
            insert(RedemptionReturn).values(
                id=return_id,
                redemption_id=redemption_id,
                api_key_id=api_key_id,
                refund_amount=refund_amount,
                result=result,
                created_at=created_at,
            )
        )

    async def returns(self, redemption_id: UUID) -> list[dict[str, Any]]:
        """A redemption's returns' answers, oldest first."""
        rows = await self.session.execute(
            select(RedemptionReturn.result)
            .where(RedemptionReturn.redemption_id == redemption_id)
            .order_by(RedemptionReturn.created_at, RedemptionReturn.id)
        )
        return list(rows.scalars())


_ITEM_COLUMNS = (
    RedemptionItem.position,
    RedemptionItem.code_id,
    RedemptionItem.campaign_id,
    RedemptionItem.discount_amount,
    RedemptionItem.shipping_discount_amount,
    RedemptionItem.cashback_amount,
    RedemptionItem.counted_code_customer,
    RedemptionItem.counted_campaign_customer,
    RedemptionItem.budget_redemption,
    RedemptionItem.budget_amount,
)


def _item(row: AnyRow, terms: Terms | None = None) -> RedemptionItemRecord:
    return RedemptionItemRecord(
        position=row.position,
        code_id=row.code_id,
        campaign_id=row.campaign_id,
        discount_amount=row.discount_amount,
        shipping_discount_amount=row.shipping_discount_amount,
        cashback_amount=row.cashback_amount,
        counted_code_customer=row.counted_code_customer,
        counted_campaign_customer=row.counted_campaign_customer,
        budget_redemption=row.budget_redemption,
        budget_amount=row.budget_amount,
        terms=terms,
    )


def _returned(row: AnyRow | SimpleNamespace) -> ReturnedRecord | None:
    if row.returned_quantities is None:
        return None
    return ReturnedRecord(
        lines=lines_from_json(row.lines),
        quantities=tuple(row.returned_quantities),
        amounts=_amounts(row),
    )


def _amounts(row: AnyRow | SimpleNamespace) -> OrderAmounts:
    return OrderAmounts(
        subtotal_amount=row.subtotal_amount,
        discount_amount=row.discount_amount,
        shipping_amount=row.shipping_amount,
        shipping_discount_amount=row.shipping_discount_amount,
        total_amount=row.total_amount,
        cashback_amount=row.cashback_amount,
    )


def record_of(row: AnyRow | SimpleNamespace) -> RedemptionRecord:
    return RedemptionRecord(
        id=row.id,
        customer_id=row.customer_id,
        order_id=row.order_id,
        status=row.status,
        result=row.result,
        created_at=row.created_at,
        rolled_back_at=row.rolled_back_at,
        expires_at=row.expires_at,
        returned=_returned(row),
    )
