from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select, text, tuple_, update

from app.db.mappers import campaign_from_row, rules_to_json
from app.db.models import Campaign as CampaignRow
from app.db.models import CampaignBudget as BudgetRow
from app.db.repositories.base import Repository, translating_integrity_errors
from app.domain.budgets import REDEMPTIONS, Budget
from app.domain.campaigns import Campaign, CampaignKind, CampaignStatus, Trigger
from app.domain.periods import PeriodTake
from app.domain.rules import Rules, Stacking

_COLUMNS = (
    CampaignRow.id,
    CampaignRow.name,
    CampaignRow.status,
    CampaignRow.trigger,
    CampaignRow.kind,
    CampaignRow.rules,
    CampaignRow.priority,
    CampaignRow.is_exclusive,
    CampaignRow.is_line_exclusive,
    CampaignRow.exclusive_conflict,
    CampaignRow.best_of,
    CampaignRow.starts_at,
    CampaignRow.ends_at,
    CampaignRow.per_customer_limit,
    CampaignRow.metadata_.label("metadata"),
    CampaignRow.created_at,
    CampaignRow.updated_at,
    CampaignRow.over_budget,
    CampaignRow.honour_holds,
    CampaignRow.advertised,
)


_NO_BUDGET = Budget()

# What a rolled-back redemption gives back to its campaigns' budgets, from `budget_items`
# (campaign_id, budget_redemption, budget_amount, currency: its items, which say what they
# added): one redemption per campaign and the amounts, in the order's currency; the rows locked
# in key order, as redeem locks them (units in "C" order, as Python sorts them), never below
# zero (a cap removed and set again since starts from nothing).
#
# What is owed is a MATERIALIZED CTE, not a subquery in the join: inlined, its UNION ALL
# becomes an append relation, and when a concurrent rollback has just updated one of the
# budget rows, PostgreSQL's recheck of the join (EvalPlanQual, READ COMMITTED) drops that
# row, so a unit was silently not given back (8 concurrent rollbacks left 200-600 of an
# 800.00 budget used). A CTE's rows are rechecked as they were read.
BUDGETS_GIVEN_BACK = """
budgets_owed AS MATERIALIZED (
    SELECT campaign_id, 'redemptions' AS unit, 1::bigint AS amount
    FROM budget_items WHERE budget_redemption GROUP BY campaign_id
    UNION ALL
    SELECT campaign_id, currency, sum(budget_amount)::bigint
    FROM budget_items WHERE budget_amount IS NOT NULL GROUP BY campaign_id, currency
),
budgets_given_back AS (
    UPDATE campaign_budgets AS b SET used = greatest(b.used - back.amount, 0)
    FROM (
        SELECT held.campaign_id, held.unit, owed.amount
        FROM campaign_budgets AS held
        JOIN budgets_owed AS owed ON held.campaign_id = owed.campaign_id AND held.unit = owed.unit
        ORDER BY held.campaign_id, held.unit COLLATE "C"
        FOR UPDATE OF held
    ) AS back
    WHERE b.campaign_id = back.campaign_id AND b.unit = back.unit
    RETURNING b.unit
)"""

# What a rolled-back redemption gives back to the period counters it added one to, from
# `period_items` (campaign_id, per, subject, period, starts: redemptions.period_takes): the rows
# locked in key order, as redeem locks them, never below zero.
PERIODS_GIVEN_BACK = """
periods_given_back AS (
    UPDATE period_uses AS pu SET used = greatest(pu.used - 1, 0)
    FROM (
        SELECT held.campaign_id, held.per, held.subject, held.period, held.starts
        FROM period_uses AS held
        JOIN period_items USING (campaign_id, per, subject, period, starts)
        ORDER BY held.campaign_id, held.per COLLATE "C", held.subject COLLATE "C",
                 held.period COLLATE "C", held.starts
        FOR UPDATE OF held
    ) AS back
    WHERE pu.campaign_id = back.campaign_id AND pu.per = back.per
      AND pu.subject = back.subject AND pu.period = back.period AND pu.starts = back.starts
    RETURNING 1
)"""
# period_takes as rows, from `source` (a row with period_takes).
PERIOD_ITEMS = """
period_items AS (
    SELECT (t->>0)::uuid AS campaign_id, t->>1 AS per, t->>2 AS subject, t->>3 AS period,
           (t->>4)::date AS starts
    FROM {source}, jsonb_array_elements({source}.period_takes) AS t
)"""

_GIVE_BACK_PERIODS = text(
    f"""
WITH taken AS (SELECT period_takes FROM redemptions WHERE id = :redemption_id),
{PERIOD_ITEMS.format(source="taken")},
{PERIODS_GIVEN_BACK}
SELECT count(*) FROM periods_given_back
"""
)
_TAKE_PERIOD = text(
    """
    INSERT INTO period_uses AS pu (campaign_id, per, subject, period, starts, used)
    VALUES (:campaign_id, :per, :subject, :period, :starts, 1)
    ON CONFLICT (campaign_id, per, subject, period, starts) DO UPDATE
        SET used = pu.used + 1 WHERE pu.used < :limit
    RETURNING 1
    """
)

_GIVE_BACK_BUDGETS = text(
    f"""
WITH budget_items AS (
    SELECT i.campaign_id, i.budget_redemption, i.budget_amount, r.currency
    FROM redemption_items AS i JOIN redemptions AS r ON r.id = i.redemption_id
    WHERE i.redemption_id = :redemption_id
),
{BUDGETS_GIVEN_BACK}
SELECT count(*) FROM budgets_given_back
"""
)
# What the campaign's live redemptions (succeeded or held) used of :unit.
_HISTORY_USED = text(
    """
    SELECT CASE WHEN :unit = 'redemptions' THEN count(DISTINCT r.id)
                ELSE coalesce(sum(i.discount_amount + i.shipping_discount_amount), 0) END
    FROM redemption_items AS i JOIN redemptions AS r ON r.id = i.redemption_id
    WHERE i.campaign_id = :campaign_id AND r.status IN ('succeeded', 'held')
      AND (:unit = 'redemptions' OR r.currency = :unit)
    """
)
# A new cap: its row starts from what the live redemptions used, and their items say they
# counted (so that their rollbacks give it back).
_START_REDEMPTIONS = text(
    """
    WITH counted AS (
        UPDATE redemption_items AS i SET budget_redemption = true
        FROM redemptions AS r
        WHERE i.campaign_id = :campaign_id AND r.id = i.redemption_id
          AND r.status IN ('succeeded', 'held')
        RETURNING i.redemption_id
    )
    INSERT INTO campaign_budgets (campaign_id, unit, cap, used)
    SELECT :campaign_id, :unit, :cap, count(DISTINCT redemption_id) FROM counted
    """
)
_START_AMOUNT = text(
    """
    WITH counted AS (
        UPDATE redemption_items AS i
        SET budget_amount = i.discount_amount + i.shipping_discount_amount
        FROM redemptions AS r
        WHERE i.campaign_id = :campaign_id AND r.id = i.redemption_id
          AND r.status IN ('succeeded', 'held') AND r.currency = :unit
        RETURNING i.budget_amount
    )
    INSERT INTO campaign_budgets (campaign_id, unit, cap, used)
    SELECT :campaign_id, :unit, :cap, coalesce(sum(budget_amount), 0) FROM counted
    """
)
_TAKE_BUDGET = text(
    "UPDATE campaign_budgets SET used = used + :amount"
    " WHERE campaign_id = :campaign_id AND unit = :unit AND used + :amount <= cap RETURNING 1"
)


class CampaignRepository(Repository):
    async def insert(
        self,
        *,
        name: str,
        trigger: Trigger,
        rules: Rules,
        stacking: Stacking,
        starts_at: datetime | None,
        ends_at: datetime | None,
        per_customer_limit: int | None,
        metadata: Mapping[str, object],
        kind: CampaignKind = CampaignKind.STANDARD,
        budget: Budget = _NO_BUDGET,
        honour_holds: bool = True,
        advertised: bool = False,
    ) -> Campaign:
        stmt = (
            insert(CampaignRow)
            .values(
                honour_holds=honour_holds,
                advertised=advertised,
                over_budget=budget.over_budget.value,
                name=name,
                trigger=trigger.value,
                kind=kind.value,
                rules=rules_to_json(rules),
                priority=stacking.priority,
                is_exclusive=stacking.is_exclusive,
                is_line_exclusive=stacking.is_line_exclusive,
                exclusive_conflict=stacking.exclusive_conflict.value,
                best_of=stacking.best_of,
                starts_at=starts_at,
                ends_at=ends_at,
                per_customer_limit=per_customer_limit,
                metadata_=dict(metadata),
            )
            .returning(*_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one()
        campaign = campaign_from_row(row)
        await self.set_budget(campaign.id, budget)
        return replace(campaign, budget=budget, budget_used=dict.fromkeys(budget.caps(), 0))

    async def get(self, campaign_id: UUID, *, for_update: bool = False) -> Campaign | None:
        stmt = select(*_COLUMNS).where(CampaignRow.id == campaign_id)
        if for_update:
            # FOR NO KEY UPDATE: a redeem's items take a key-share lock on the campaign row
            # while it holds its budget rows; a stronger lock here would wait on it as it waits
            # on the budget rows this then locks.
            stmt = stmt.with_for_update(key_share=True)
        row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        [campaign] = await self._with_budgets([campaign_from_row(row)], lock=for_update)
        return campaign

    async def _with_budgets(
        self, campaigns: list[Campaign], *, lock: bool = False
    ) -> list[Campaign]:
        """The campaigns with their budgets' caps and use (their rows locked if lock)."""
        if not campaigns:
            return campaigns
        stmt = select(BudgetRow.campaign_id, BudgetRow.unit, BudgetRow.cap, BudgetRow.used).where(
            BudgetRow.campaign_id.in_([c.id for c in campaigns])
        )
        if lock:
            stmt = stmt.order_by(
                BudgetRow.campaign_id, BudgetRow.unit.collate("C")
            ).with_for_update()
        rows: dict[UUID, list[Any]] = {}
        for row in await self.session.execute(stmt):
            rows.setdefault(row.campaign_id, []).append(row)
        return [
            replace(
                campaign,
                budget=Budget(
                    max_redemptions=next(
                        (r.cap for r in rows.get(campaign.id, ()) if r.unit == REDEMPTIONS), None
                    ),
                    max_discount={
                        r.unit: r.cap for r in rows.get(campaign.id, ()) if r.unit != REDEMPTIONS
                    },
                    over_budget=campaign.budget.over_budget,
                ),
                budget_used={r.unit: r.used for r in rows.get(campaign.id, ())},
            )
            for campaign in campaigns
        ]

    async def refusing_holds(self, campaign_ids: Sequence[UUID]) -> list[Campaign]:
        """Of these campaigns, the paused ones whose holds may not be redeemed."""
        rows = await self.session.execute(
            select(*_COLUMNS).where(
                CampaignRow.id.in_(list(campaign_ids)),
                CampaignRow.status == CampaignStatus.PAUSED.value,
                CampaignRow.honour_holds.is_(False),
            )
        )
        return [campaign_from_row(row) for row in rows]

    async def take_budget(self, campaign_id: UUID, unit: str, amount: int) -> bool:
        """Add amount to the campaign's budget in unit if it stays within the cap; False, with
        nothing taken, when it would not. Called in key order (budget_takes sorts them), after
        the codes' and customers' uses, as redeem's statement takes them."""
        params = {"campaign_id": campaign_id, "unit": unit, "amount": amount}
        return (await self.session.execute(_TAKE_BUDGET, params)).first() is not None

    async def take_period(self, take: PeriodTake) -> bool:
        """Add one to a period counter if it stays within its limit; False, with nothing
        taken, when it would not. Called in key order, after the budgets, as redeem's statement
        takes them."""
        key = take.key
        params = {
            "campaign_id": key.campaign_id,
            "per": key.per.value,
            "subject": key.subject,
            "period": key.period.value,
            "starts": key.starts,
            "limit": take.limit,
        }
        return (await self.session.execute(_TAKE_PERIOD, params)).first() is not None

    async def give_back_periods(self, redemption_id: UUID) -> None:
        """The period counters a redemption being rolled back added one to."""
        await self.session.execute(_GIVE_BACK_PERIODS, {"redemption_id": redemption_id})

    async def give_back_budgets(self, redemption_id: UUID) -> None:
        """What a redemption being rolled back took from its campaigns' budgets."""
        await self.session.execute(_GIVE_BACK_BUDGETS, {"redemption_id": redemption_id})

    async def give_back_amounts(self, amounts: Sequence[tuple[UUID, str, int]]) -> None:
        """What a partial return gives back to money budgets: (campaign, currency, amount)
        each, in lock order (db/locking.py)."""
        for campaign_id, unit, amount in sorted(amounts):
            await self.session.execute(
                update(BudgetRow)
                .where(BudgetRow.campaign_id == campaign_id, BudgetRow.unit == unit)
                .values(used=func.greatest(BudgetRow.used - amount, 0))
            )

    async def history_used(self, campaign_id: UUID, unit: str) -> int:
        """What the campaign's live redemptions (succeeded or held) used of unit: how many of
        them, or their discounts in that currency. What a cap set now starts from."""
        return int(
            (
                await self.session.execute(
                    _HISTORY_USED, {"campaign_id": campaign_id, "unit": unit}
                )
            ).scalar_one()
        )

    async def set_budget(self, campaign_id: UUID, budget: Budget) -> None:
        """Give the campaign these caps and this policy, its budget rows locked by
        get(for_update=True). A cap that stays keeps what was used; a cap that is gone goes; a
        new cap starts from what the campaign's live redemptions used (history_used), whose
        items are marked as counted, so that their rollbacks give it back. CheckViolationError
        when a cap is below what was used (the caller checks first; a redeem may commit
        between)."""
        caps = budget.caps()
        await self.session.execute(
            delete(BudgetRow).where(
                BudgetRow.campaign_id == campaign_id, BudgetRow.unit.not_in(list(caps))
            )
        )
        kept = set(
            (
                await self.session.execute(
                    select(BudgetRow.unit).where(BudgetRow.campaign_id == campaign_id)
                )
            ).scalars()
        )
        async with translating_integrity_errors(self.session):
            for unit, cap in caps.items():
                if unit in kept:
                    await self.session.execute(
                        update(BudgetRow)
                        .where(BudgetRow.campaign_id == campaign_id, BudgetRow.unit == unit)
                        .values(cap=cap)
                    )
                else:
                    start = _START_REDEMPTIONS if unit == REDEMPTIONS else _START_AMOUNT
                    params = {"campaign_id": campaign_id, "unit": unit, "cap": cap}
                    await self.session.execute(start, params)
        await self.session.execute(
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id)
            .values(over_budget=budget.over_budget.value)
        )

    async def list_page(
        self,
        *,
        limit: int,
        after: tuple[datetime, UUID] | None,
        status: CampaignStatus | None = None,
        trigger: Trigger | None = None,
        kind: CampaignKind | None = None,
    ) -> list[Campaign]:
        """Oldest first, every filter given holding."""
        stmt = select(*_COLUMNS).order_by(CampaignRow.created_at, CampaignRow.id).limit(limit)
        if status is not None:
            stmt = stmt.where(CampaignRow.status == status.value)
        if trigger is not None:
            stmt = stmt.where(CampaignRow.trigger == trigger.value)
        if kind is not None:
            stmt = stmt.where(CampaignRow.kind == kind.value)
        if after is not None:
            stmt = stmt.where(tuple_(CampaignRow.created_at, CampaignRow.id) > tuple_(*after))
        page = [campaign_from_row(row) for row in await self.session.execute(stmt)]
        return await self._with_budgets(page)

    async def update(self, campaign_id: UUID, changes: Mapping[str, Any]) -> Campaign | None:
        """Apply changes (rules and stacking given as domain values) and bump updated_at."""
        values = dict(changes)
        if "rules" in values:
            values["rules"] = rules_to_json(values["rules"])
        if "stacking" in values:
            stacking: Stacking = values.pop("stacking")
            values["priority"] = stacking.priority
            values["is_exclusive"] = stacking.is_exclusive
            values["is_line_exclusive"] = stacking.is_line_exclusive
            values["exclusive_conflict"] = stacking.exclusive_conflict.value
            values["best_of"] = stacking.best_of
        if "metadata" in values:
            values["metadata_"] = dict(values.pop("metadata"))
        stmt = (
            update(CampaignRow)
            .where(CampaignRow.id == campaign_id)
            .values(**values, updated_at=func.now())
            .returning(*_COLUMNS)
        )
        async with translating_integrity_errors(self.session):
            row = (await self.session.execute(stmt)).one_or_none()
        if row is None:
            return None
        [campaign] = await self._with_budgets([campaign_from_row(row)])
        return campaign

    async def set_status(self, campaign_id: UUID, status: CampaignStatus) -> Campaign | None:
        return await self.update(campaign_id, {"status": status.value})
