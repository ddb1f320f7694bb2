from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from app.api.schemas.common import (
    FROM_JSON_STRING,
    CodeText,
    CustomerId,
    Limit,
    Metadata,
    Name,
    RequestModel,
    Timestamp,
)
from app.api.schemas.examples import example
from app.api.schemas.rules import (
    ConditionsSpec,
    Effects,
    EffectSpec,
    OptionalMoneyMap,
    StackingSpec,
    TargetSpec,
    ZoneName,
    effect_of,
)
from app.domain.budgets import REDEMPTIONS, Budget, OverBudget
from app.domain.campaigns import Campaign as CampaignValue
from app.domain.campaigns import CampaignKind, CampaignStatus, CodeSource, Trigger
from app.domain.campaigns import Code as CodeValue
from app.domain.periods import Per, Period
from app.domain.periods import PeriodLimit as PeriodLimitValue
from app.domain.periods import PeriodLimits as PeriodLimitsValue
from app.domain.rules import ExclusiveConflict, Stacking


def stacking_to_domain(spec: StackingSpec) -> Stacking:
    return Stacking(
        spec.priority,
        spec.exclusive,
        spec.line_exclusive,
        ExclusiveConflict(spec.exclusive_conflict),
        spec.best_of,
    )


def stacking_of(stacking: Stacking) -> StackingSpec:
    return StackingSpec(
        priority=stacking.priority,
        exclusive=stacking.is_exclusive,
        line_exclusive=stacking.is_line_exclusive,
        exclusive_conflict=stacking.exclusive_conflict.value,
        best_of=stacking.best_of,
    )


class BudgetSpec(RequestModel):
    """What the campaign may consume in all. A redemption counts once against
    `max_redemptions`, whatever number of the campaign's codes it used; its line and shipping
    discounts count against `max_discount` in the order's currency (cashback and gifts do
    not). A rollback gives back what it took."""

    model_config = example("BudgetSpec")

    max_redemptions: Limit | None = Field(
        default=None, description="Redemptions in all ('the first 1,000 orders'); null: no cap"
    )
    max_discount: OptionalMoneyMap = Field(
        default_factory=dict,
        description="Most the discounts may take off in all, per currency; {}: no cap",
    )
    over_budget: Annotated[OverBudget, FROM_JSON_STRING] = Field(
        default=OverBudget.REFUSE,
        description="A discount that would cross `max_discount`: 'refuse' it "
        "(`budget_exceeded`), or 'reduce' it to what is left",
    )

    def to_domain(self) -> Budget:
        return Budget(self.max_redemptions, dict(self.max_discount), self.over_budget)


class BudgetState(BaseModel):
    max_redemptions: int | None
    max_discount: dict[str, int]
    over_budget: OverBudget
    redemptions: int = Field(description="Redemptions counted against `max_redemptions`")
    discount: dict[str, int] = Field(description="What the discounts took off, per capped currency")

    @classmethod
    def of(cls, campaign: CampaignValue) -> "BudgetState":
        budget, used = campaign.budget, campaign.budget_used
        return cls(
            max_redemptions=budget.max_redemptions,
            max_discount=dict(budget.max_discount),
            over_budget=budget.over_budget,
            redemptions=used.get(REDEMPTIONS, 0),
            discount={unit: used.get(unit, 0) for unit in budget.max_discount},
        )


class PeriodLimitSpec(RequestModel):
    """At most `limit` redemptions per `period` (a day from local midnight, a week from Monday,
    a month from the 1st, in the campaign's `time_zone`): of the campaign in all, of each of
    its codes, or of each customer ('one per customer per day')."""

    per: Annotated[Per, FROM_JSON_STRING]
    period: Annotated[Period, FROM_JSON_STRING]
    limit: Limit


# One limit per 'per' and 'period': checked with the campaign's terms (422 invalid_campaign),
# as a schema cannot say it.
PeriodLimits = Annotated[list[PeriodLimitSpec], Field(max_length=9)]


RoundingMode = Literal["half_up", "down", "half_even"]
CalculationBaseName = Literal["standard", "before_discounts", "after_discounts"]


def periods_to_domain(limits: list[PeriodLimitSpec], time_zone: str) -> PeriodLimitsValue:
    return PeriodLimitsValue(
        time_zone=time_zone,
        limits=tuple(PeriodLimitValue(one.per, one.period, one.limit) for one in limits),
    )


class CampaignCreate(RequestModel):
    model_config = example("CampaignCreate")

    name: Name
    trigger: Annotated[Trigger, FROM_JSON_STRING] = Field(
        default=Trigger.CODE,
        description="'code': through its codes; 'automatic': to every cart that qualifies",
    )
    effects: Effects
    target: TargetSpec = Field(default_factory=TargetSpec)
    conditions: ConditionsSpec = Field(default_factory=ConditionsSpec)
    stacking: StackingSpec = Field(default_factory=StackingSpec)
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    per_customer_limit: Limit | None = Field(
        default=None, description="Redemptions per customer across the whole campaign"
    )
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    period_limits: PeriodLimits = Field(
        default_factory=list,
        description="Redemptions per day, week or month: of the campaign, per code or per "
        "customer, refused as `period_limit_reached` past them",
    )
    time_zone: ZoneName = Field(
        default="UTC", description="Where the campaign's days, weeks and months begin"
    )
    rounding: RoundingMode = Field(
        default="half_up",
        description="How a percentage's fraction of a minor unit is rounded (once per order, "
        "or per unit for per-unit effects)",
    )
    calculation_base: CalculationBaseName = Field(
        default="standard",
        description="What its thresholds and percentages see of the promotions applied before "
        "it: 'standard': thresholds the prices before any promotion, percentages what is left; "
        "'before_discounts': both the prices before any promotion; 'after_discounts': both what "
        "is left ('free shipping over 50.00 after discounts')",
    )
    honour_holds: bool = Field(
        default=True, description="Whether its holds may still be redeemed while it is paused"
    )
    advertised: bool = Field(
        default=False,
        description="Offer its named codes (not pool codes) to every shopper in /v1/qualifications",
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


REQUIRED_WHEN_SENT = (
    "name",
    "effects",
    "target",
    "conditions",
    "stacking",
    "budget",
    "honour_holds",
    "advertised",
    "period_limits",
    "time_zone",
    "rounding",
    "calculation_base",
)


class CampaignUpdate(RequestModel):
    """Only the fields sent change; null clears an optional field. Effects, target,
    conditions and stacking are replaced whole."""

    model_config = example("CampaignUpdate", then=_not_nullable(*REQUIRED_WHEN_SENT))

    name: Name | None = None
    effects: Effects | None = None
    target: TargetSpec | None = None
    conditions: ConditionsSpec | None = None
    stacking: StackingSpec | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    per_customer_limit: Limit | None = None
    budget: BudgetSpec | None = Field(
        default=None,
        description="Replaced whole; a cap cannot go below what was used (422)",
    )
    honour_holds: bool | None = None
    advertised: bool | None = None
    period_limits: PeriodLimits | None = Field(default=None, description="Replaced whole")
    time_zone: ZoneName | None = None
    rounding: RoundingMode | None = None
    calculation_base: CalculationBaseName | None = None
    metadata: Metadata | None = None


class Campaign(BaseModel):
    id: UUID
    name: str
    status: CampaignStatus
    trigger: Trigger
    kind: CampaignKind = Field(description="'support': made for one apology code")
    effects: list[EffectSpec]
    target: TargetSpec
    conditions: ConditionsSpec
    stacking: StackingSpec
    starts_at: datetime | None
    ends_at: datetime | None
    per_customer_limit: int | None
    budget: BudgetState
    period_limits: list[PeriodLimitSpec]
    time_zone: str
    rounding: RoundingMode
    calculation_base: CalculationBaseName
    honour_holds: bool = Field(description="Whether its holds may be redeemed while it is paused")
    advertised: bool = Field(description="Whether its named codes are offered to every shopper")
    metadata: dict[str, str | int | bool | None]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, campaign: CampaignValue) -> "Campaign":
        return cls(
            id=campaign.id,
            name=campaign.name,
            status=campaign.status,
            trigger=campaign.trigger,
            kind=campaign.kind,
            effects=[effect_of(effect) for effect in campaign.rules.effects],
            target=TargetSpec.of(campaign.rules.target),
            conditions=ConditionsSpec.of(campaign.rules.conditions),
            stacking=stacking_of(campaign.stacking),
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            per_customer_limit=campaign.per_customer_limit,
            budget=BudgetState.of(campaign),
            period_limits=[
                PeriodLimitSpec(per=one.per, period=one.period, limit=one.limit)
                for one in campaign.rules.periods.limits
            ],
            time_zone=campaign.rules.periods.time_zone,
            rounding=campaign.rules.rounding.value,
            calculation_base=campaign.rules.base.value,
            honour_holds=campaign.honour_holds,
            advertised=campaign.advertised,
            metadata=dict(campaign.metadata),  # type: ignore[arg-type]
            created_at=campaign.created_at,
            updated_at=campaign.updated_at,
        )


class CampaignList(BaseModel):
    data: list[Campaign]
    next_cursor: str | None


class CodeCreate(RequestModel):
    model_config = example("CodeCreate")

    code: CodeText = Field(examples=["SUMMER10"])
    max_redemptions: Limit | None = Field(default=None, description="Total uses; null = unlimited")
    per_customer_limit: Limit | None = Field(default=None, description="Uses per customer")
    customer_id: CustomerId | None = Field(
        default=None, description="Only this customer may use the code"
    )
    expires_at: Timestamp | None = None


class CodeUpdate(RequestModel):
    """Only the fields sent change; null clears one (no limit, any customer, no expiry)."""

    model_config = example("CodeUpdate")

    max_redemptions: Limit | None = Field(
        default=None,
        description="Total uses; null = unlimited. Not below the uses already taken (422 "
        "`invalid_code_terms`)",
    )
    per_customer_limit: Limit | None = Field(default=None, description="Uses per customer")
    customer_id: CustomerId | None = Field(
        default=None,
        description="Only this customer may use the code; not for pool codes, whose customer "
        "is their claim's (422 `invalid_code_terms`)",
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
    source: CodeSource = Field(
        description="'named' (created by name), a pool code ('generated' or 'imported'), or "
        "'support' (an apology code)"
    )
    assigned_at: datetime | None = Field(
        description="When a claim handed this pool code to customer_id"
    )
    created_at: datetime
    disabled_at: datetime | None = Field(
        description="When the code was switched off on its own (validate and redeem refuse it "
        "as `disabled`); null while it is enabled"
    )

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
            source=code.source,
            assigned_at=code.assigned_at,
            created_at=code.created_at,
            disabled_at=code.disabled_at,
        )


class CodeLookup(RequestModel):
    model_config = example("CodeLookup")

    code: CodeText = Field(
        examples=["summer10"], description="The code's text as typed; case does not matter"
    )


class CodeList(BaseModel):
    data: list[Code]
    next_cursor: str | None
