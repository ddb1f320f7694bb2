"""Rows to domain values and back; the domain never sees a Row or an ORM object.

Campaign rules are stored as JSONB in the shape the API publishes (effects, target, conditions,
and the limits per period); rules_to_json and rules_from_json are the only codec for it, and
they take each effect, target and condition on the cart to and from JSON with domain/kinds.py.
"""

from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any, Protocol, TypeAlias
from uuid import UUID

import orjson
from sqlalchemy import Row

from app.domain.benefits import CalculationBase
from app.domain.budgets import Budget, BudgetLeft, OverBudget
from app.domain.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Code,
    CodeSource,
    Trigger,
)
from app.domain.cart import CartLine
from app.domain.conditions import MINUTES_PER_DAY, Conditions, Schedule, Target, clock_of, minute_of
from app.domain.kinds import decode, decode_condition, decode_effect, encode
from app.domain.money import Rounding
from app.domain.periods import Per, Period, PeriodKey, PeriodLimit, PeriodLimits
from app.domain.returns import Terms
from app.domain.rules import ExclusiveConflict, Promotion, Rules, Stacking, Usage

# A result row of any shape; columns are read by name.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


class Fields(Protocol):
    """Columns by name: a Row's `_mapping`, or an asyncpg Record."""

    def __getitem__(self, name: str, /) -> Any: ...


def conditions_to_json(conditions: Conditions) -> dict[str, Any]:
    schedule = conditions.schedule
    return {
        "min_subtotal_amounts": dict(conditions.min_subtotal_amounts),
        "min_quantity": conditions.min_quantity,
        "segments": sorted(conditions.segments),
        "first_order_only": conditions.first_order_only,
        "markets": sorted(conditions.markets),
        "locales": sorted(conditions.locales),
        "schedule": None
        if schedule is None
        else {
            "timezone": schedule.timezone,
            "days": sorted(schedule.days),
            "start_time": clock_of(schedule.start_minute),
            "end_time": clock_of(schedule.end_minute),
        },
        "cart": [encode(condition) for condition in conditions.cart],
    }


def conditions_from_json(data: dict[str, Any]) -> Conditions:
    schedule = data.get("schedule")
    return Conditions(
        min_subtotal_amounts=data.get("min_subtotal_amounts", {}),
        min_quantity=data.get("min_quantity"),
        segments=frozenset(data.get("segments", ())),
        first_order_only=data.get("first_order_only", False),
        markets=frozenset(data.get("markets", ())),
        locales=frozenset(data.get("locales", ())),
        schedule=None
        if schedule is None
        else Schedule(
            timezone=schedule["timezone"],
            days=frozenset(schedule.get("days", ())),
            start_minute=minute_of(schedule.get("start_time", "00:00")),
            end_minute=minute_of(schedule.get("end_time", clock_of(MINUTES_PER_DAY))),
        ),
        cart=tuple(decode_condition(condition) for condition in data.get("cart", ())),
    )


def rules_to_json(rules: Rules) -> dict[str, Any]:
    data: dict[str, Any] = {
        "effects": [encode(effect) for effect in rules.effects],
        "target": encode(rules.target),
        "conditions": conditions_to_json(rules.conditions),
    }
    if rules.periods.time_zone != "UTC":
        data["time_zone"] = rules.periods.time_zone
    if rules.rounding is not Rounding.HALF_UP:
        data["rounding"] = rules.rounding.value
    if rules.base is not CalculationBase.STANDARD:
        data["calculation_base"] = rules.base.value
    if rules.periods.limits:
        # Only when there are limits: the candidates read skips the period counters of a
        # campaign whose rules have no "periods".
        data["periods"] = [[limit.per, limit.period, limit.limit] for limit in rules.periods.limits]
    return data


def rules_from_json(data: dict[str, Any]) -> Rules:
    return Rules(
        effects=tuple(decode_effect(effect) for effect in data["effects"]),
        target=decode(Target, data.get("target", {})),
        conditions=conditions_from_json(data.get("conditions", {})),
        periods=PeriodLimits(
            time_zone=data.get("time_zone", "UTC"),
            limits=tuple(
                PeriodLimit(Per(per), Period(period), limit)
                for per, period, limit in data.get("periods", ())
            ),
        ),
        rounding=Rounding(data.get("rounding", Rounding.HALF_UP)),
        base=CalculationBase(data.get("calculation_base", CalculationBase.STANDARD)),
    )


@lru_cache(maxsize=4096)
def rules_from_text(text: str) -> Rules:
    """Rules from their stored JSON text, decoded once per distinct text and process: every
    checkout request reads the same few campaigns, and Rules are immutable."""
    decoded: dict[str, Any] = orjson.loads(text)
    return rules_from_json(decoded)


def _stacking(row: AnyRow) -> Stacking:
    return Stacking(
        priority=row.priority,
        is_exclusive=row.is_exclusive,
        is_line_exclusive=row.is_line_exclusive,
        exclusive_conflict=ExclusiveConflict(row.exclusive_conflict),
        best_of=row.best_of,
    )


def campaign_from_row(row: AnyRow) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        status=CampaignStatus(row.status),
        trigger=Trigger(row.trigger),
        kind=CampaignKind(row.kind),
        rules=rules_from_json(row.rules),
        stacking=_stacking(row),
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        per_customer_limit=row.per_customer_limit,
        metadata=row.metadata,
        created_at=row.created_at,
        updated_at=row.updated_at,
        # The caps and their use are read with the campaign's budget rows.
        budget=Budget(over_budget=OverBudget(row.over_budget)),
        honour_holds=row.honour_holds,
        advertised=row.advertised,
    )


def code_from_row(row: AnyRow) -> Code:
    return Code(
        id=row.id,
        campaign_id=row.campaign_id,
        code=row.code,
        max_redemptions=row.max_redemptions,
        redemption_count=row.redemption_count,
        per_customer_limit=row.per_customer_limit,
        customer_id=row.customer_id,
        expires_at=row.expires_at,
        source=CodeSource(row.source),
        assigned_at=row.assigned_at,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


_CONFLICTS = {conflict.value: conflict for conflict in ExclusiveConflict}


def promotion_from_row(row: Fields) -> Promotion:
    """A code joined with its campaign, or (code columns null) an automatic promotion. Takes
    columns by name, from a Row's mapping or an asyncpg Record alike; rules come as JSON text."""
    return Promotion(
        campaign_id=row["campaign_id"],
        name=row["campaign_name"],
        rules=rules_from_text(row["rules"]),
        code_id=row["code_id"],
        code=row["code"],
        stacking=Stacking(
            row["priority"],
            row["is_exclusive"],
            row["is_line_exclusive"],
            _CONFLICTS[row["exclusive_conflict"]],
            row["best_of"],
        ),
        usage=Usage(
            max_redemptions=row["max_redemptions"],
            redemption_count=row["redemption_count"] or 0,
            per_customer_limit=row["code_per_customer_limit"],
            customer_redemption_count=row["code_customer_count"] or 0,
            campaign_per_customer_limit=row["campaign_per_customer_limit"],
            campaign_customer_redemption_count=row["campaign_customer_count"] or 0,
        ),
        is_active=row["status"] == CampaignStatus.ACTIVE,
        is_disabled=row["code_disabled"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        expires_at=row["expires_at"],
        bound_customer_id=row["customer_id"],
        budget=_budget_left(row),
        period_used=_period_used(row),
        referrer_id=row["referrer_id"],
        referrer_email_key=row["referrer_email_key"],
    )


def _period_used(row: Fields) -> dict[PeriodKey, int]:
    """The period counters the candidates read returns, as JSON text (NULL: its campaign has
    no period limits): [campaign, per, subject, period, starts, used] each."""
    text = row["period_uses"]
    if text is None:
        return {}
    return {
        PeriodKey(
            UUID(campaign), Per(per), subject, Period(period), date.fromisoformat(starts)
        ): used
        for campaign, per, subject, period, starts, used in orjson.loads(text)
    }


def _budget_left(row: Fields) -> BudgetLeft | None:
    redemptions, amount = row["budget_redemptions_left"], row["budget_amount_left"]
    if redemptions is None and amount is None:
        return None
    return BudgetLeft(redemptions, amount, OverBudget(row["over_budget"]))


def lines_to_json(lines: Iterable[CartLine]) -> list[list[Any]]:
    """An order's lines as redemptions.lines keeps them: [sku, quantity, unit price,
    [categories]] each."""
    return [
        [line.sku, line.quantity, line.unit_price_amount, sorted(line.categories)] for line in lines
    ]


def lines_to_text(lines: Iterable[CartLine]) -> str:
    return orjson.dumps(lines_to_json(lines)).decode()


def lines_from_json(data: list[Any]) -> tuple[CartLine, ...]:
    return tuple(
        CartLine(sku, quantity, unit_price, frozenset(categories))
        for sku, quantity, unit_price, categories in data
    )


def terms_to_json(terms: Terms) -> dict[str, Any]:
    """A promotion as it applied (redemption_items.terms); its campaign and code ids are the
    item's columns."""
    return {
        "name": terms.name,
        "code": terms.code,
        "priority": terms.stacking.priority,
        "exclusive": terms.stacking.is_exclusive,
        "line_exclusive": terms.stacking.is_line_exclusive,
        "exclusive_conflict": terms.stacking.exclusive_conflict.value,
        "best_of": terms.stacking.best_of,
        "rules": rules_to_json(terms.rules),
    }


def terms_from_json(data: dict[str, Any], campaign_id: UUID, code_id: UUID | None) -> Terms:
    return Terms(
        campaign_id=campaign_id,
        name=data["name"],
        code_id=code_id,
        code=data["code"],
        rules=rules_from_json(data["rules"]),
        stacking=Stacking(
            priority=data["priority"],
            is_exclusive=data["exclusive"],
            is_line_exclusive=data["line_exclusive"],
            exclusive_conflict=ExclusiveConflict(data.get("exclusive_conflict", "priority")),
            best_of=data.get("best_of"),
        ),
    )


def terms_to_text(terms: Terms) -> str:
    return orjson.dumps(terms_to_json(terms)).decode()
