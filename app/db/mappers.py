"""Rows to domain values and back; the domain never sees a Row or an ORM object."""

from typing import Any, TypeAlias

from sqlalchemy import Row

from app.domain.campaigns import Campaign, CampaignStatus, Code
from app.domain.rules import AmountOff, Benefit, PercentOff, Promotion

# A result row of any shape; columns are read by name.
AnyRow: TypeAlias = Row[*tuple[Any, ...]]


def benefit_to_json(benefit: Benefit) -> dict[str, Any]:
    match benefit:
        case PercentOff(basis_points=bps, max_amount=cap):
            return {"type": PercentOff.kind, "basis_points": bps, "max_amount": cap}
        case AmountOff(amount=amount):
            return {"type": AmountOff.kind, "amount": amount}


def benefit_from_json(data: dict[str, Any]) -> Benefit:
    kind = data["type"]
    if kind == PercentOff.kind:
        return PercentOff(basis_points=data["basis_points"], max_amount=data.get("max_amount"))
    if kind == AmountOff.kind:
        return AmountOff(amount=data["amount"])
    raise ValueError(f"unknown discount type {kind!r}")


def campaign_from_row(row: AnyRow) -> Campaign:
    return Campaign(
        id=row.id,
        name=row.name,
        status=CampaignStatus(row.status),
        currency=row.currency,
        benefit=benefit_from_json(row.discount),
        min_subtotal_amount=row.min_subtotal_amount,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        per_customer_limit=row.per_customer_limit,
        metadata=row.metadata,
        created_at=row.created_at,
        updated_at=row.updated_at,
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
        created_at=row.created_at,
    )


def promotion_from_row(row: AnyRow) -> Promotion:
    return Promotion(
        code_id=row.id,
        campaign_id=row.campaign_id,
        code=row.code,
        benefit=benefit_from_json(row.discount),
        is_active=row.status == CampaignStatus.ACTIVE,
        currency=row.currency,
        min_subtotal_amount=row.min_subtotal_amount,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        expires_at=row.expires_at,
        bound_customer_id=row.customer_id,
        max_redemptions=row.max_redemptions,
        redemption_count=row.redemption_count,
        per_customer_limit=row.per_customer_limit,
        customer_redemption_count=row.code_customer_count or 0,
        campaign_per_customer_limit=row.campaign_per_customer_limit,
        campaign_customer_redemption_count=row.campaign_customer_count or 0,
    )
