from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas.common import (
    Amount,
    BasisPoints,
    CodeText,
    CurrencyCode,
    CustomerId,
    Limit,
    Metadata,
    Name,
    PositiveAmount,
    RequestModel,
    Timestamp,
)
from app.domain.campaigns import Campaign as CampaignValue
from app.domain.campaigns import CampaignStatus
from app.domain.campaigns import Code as CodeValue
from app.domain.rules import AmountOff, Benefit, PercentOff


class PercentOffDiscount(RequestModel):
    type: Literal["percent_off"]
    basis_points: BasisPoints
    max_amount: PositiveAmount | None = Field(
        default=None, description="Cap on the discount, in the campaign's currency"
    )


class AmountOffDiscount(RequestModel):
    type: Literal["amount_off"]
    amount: PositiveAmount = Field(description="Taken off the order, never more than its subtotal")


Discount = Annotated[PercentOffDiscount | AmountOffDiscount, Field(discriminator="type")]


def discount_to_benefit(discount: PercentOffDiscount | AmountOffDiscount) -> Benefit:
    if isinstance(discount, PercentOffDiscount):
        return PercentOff(basis_points=discount.basis_points, max_amount=discount.max_amount)
    return AmountOff(amount=discount.amount)


def benefit_to_discount(benefit: Benefit) -> PercentOffDiscount | AmountOffDiscount:
    if isinstance(benefit, PercentOff):
        return PercentOffDiscount(
            type="percent_off", basis_points=benefit.basis_points, max_amount=benefit.max_amount
        )
    return AmountOffDiscount(type="amount_off", amount=benefit.amount)


class CampaignCreate(RequestModel):
    name: Name
    discount: Discount
    currency: CurrencyCode | None = Field(
        default=None, description="Required when any amount is set; carts in another are refused"
    )
    min_subtotal_amount: Amount | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    per_customer_limit: Limit | None = Field(
        default=None, description="Redemptions per customer across all the campaign's codes"
    )
    metadata: Metadata = Field(default_factory=dict)


def _not_nullable(*names: str) -> Callable[[dict[str, Any]], None]:
    """Publish these optional fields as 'may be omitted, never null'."""

    def edit(schema: dict[str, Any]) -> None:
        for name in names:
            field = schema["properties"][name]
            options = [o for o in field.pop("anyOf") if o.get("type") != "null"]
            field.update(options[0] if len(options) == 1 else {"anyOf": options})
            field.pop("default", None)

    return edit


class CampaignUpdate(RequestModel):
    """Only the fields sent change; null clears an optional field (name and discount cannot be
    cleared)."""

    model_config = ConfigDict(json_schema_extra=_not_nullable("name", "discount"))

    name: Name | None = None
    discount: Discount | None = None
    currency: CurrencyCode | None = None
    min_subtotal_amount: Amount | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    per_customer_limit: Limit | None = None
    metadata: Metadata | None = None


class Campaign(BaseModel):
    id: UUID
    name: str
    status: CampaignStatus
    discount: Discount
    currency: str | None
    min_subtotal_amount: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    per_customer_limit: int | None
    metadata: dict[str, str | int | bool | None]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, campaign: CampaignValue) -> "Campaign":
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            discount=benefit_to_discount(campaign.benefit),
            currency=campaign.currency,
            min_subtotal_amount=campaign.min_subtotal_amount,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            per_customer_limit=campaign.per_customer_limit,
            metadata=dict(campaign.metadata),  # type: ignore[arg-type]
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
        )


class CampaignList(BaseModel):
    data: list[Campaign]
    next_cursor: str | None


class CodeCreate(RequestModel):
    code: CodeText = Field(examples=["SUMMER10"])
    max_redemptions: Limit | None = Field(default=None, description="Total uses; null = unlimited")
    per_customer_limit: Limit | None = Field(default=None, description="Uses per customer")
    customer_id: CustomerId | None = Field(
        default=None, description="Only this customer may use the code"
    )
    expires_at: Timestamp | None = None


class Code(BaseModel):
    id: UUID
    campaign_id: UUID
    code: str
    max_redemptions: int | None
    redemption_count: int
    per_customer_limit: int | None
    customer_id: str | None
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, code: CodeValue) -> "Code":
        return cls(
            id=code.id,
            campaign_id=code.campaign_id,
            code=code.code,
            max_redemptions=code.max_redemptions,
            redemption_count=code.redemption_count,
            per_customer_limit=code.per_customer_limit,
            customer_id=code.customer_id,
            expires_at=code.expires_at,
            created_at=code.created_at,
        )


class CodeList(BaseModel):
    data: list[Code]
    next_cursor: str | None
