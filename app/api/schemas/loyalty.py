"""Loyalty programs, rewards, members' balances and ledger entries; gift cards and wallets."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.api.schemas.common import (
    FROM_JSON_STRING,
    JSON_INTEGER,
    NOT_BLANK,
    Amount,
    ClientIp,
    CodeText,
    CurrencyCode,
    CustomerId,
    ExternalId,
    Name,
    PositiveAmount,
    RequestModel,
    Timestamp,
)
from app.api.schemas.examples import example
from app.domain.ledger import Entry, EntryKind
from app.domain.loyalty import MAX_POINTS_PER_CREDIT, ProgramStatus, TierBasis
from app.domain.loyalty import EarnRate as EarnRateValue
from app.domain.loyalty import Program as ProgramValue
from app.domain.loyalty import Reward as RewardValue
from app.domain.loyalty import Tier as TierValue

MAX_POINTS = MAX_POINTS_PER_CREDIT
Points = Annotated[int, Field(ge=0, le=MAX_POINTS), JSON_INTEGER]
PositivePoints = Annotated[int, Field(gt=0, le=MAX_POINTS), JSON_INTEGER]
Days = Annotated[int, Field(ge=1, le=3_650), JSON_INTEGER]
PendingDays = Annotated[int, Field(ge=0, le=365), JSON_INTEGER]
Multiplier = Annotated[
    int,
    Field(ge=100, le=10_000, description="Earn multiplier in percent: 300 = 3x"),
    JSON_INTEGER,
]
TierKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$"),
    Field(description="Stable key, for the shop's code", examples=["gold"]),
]
Reason = Annotated[
    str,
    StringConstraints(min_length=3, max_length=500, pattern=NOT_BLANK),
    Field(description="Why; kept in the ledger and the audit trail", examples=["Goodwill"]),
]


class EarnRate(RequestModel):
    points: Annotated[int, Field(ge=0, le=1_000_000), JSON_INTEGER] = Field(examples=[2])
    per_amount: Annotated[int, Field(ge=1, le=1_000_000_000), JSON_INTEGER] = Field(
        description="Minor units paid for `points` points: 2 per 100 = 2 points per 1.00",
        examples=[100],
    )


class Tier(RequestModel):
    key: TierKey
    label: Name = Field(examples=["Gold"])
    threshold: Points = Field(description="Qualifying points to reach it; the first tier is 0")
    multiplier_percent: Multiplier = 100

    def to_domain(self) -> TierValue:
        return TierValue(
            key=self.key,
            label=self.label,
            threshold=self.threshold,
            multiplier_percent=self.multiplier_percent,
        )

    @classmethod
    def of(cls, tier: TierValue) -> "Tier":
        return cls(
            key=tier.key,
            label=tier.label,
            threshold=tier.threshold,
            multiplier_percent=tier.multiplier_percent,
        )


class ProgramCreate(RequestModel):
    model_config = example("ProgramCreate")

    name: Name
    currency: CurrencyCode = Field(description="Orders in this currency earn")
    earn_rate: EarnRate
    tier_basis: Annotated[TierBasis, FROM_JSON_STRING] = Field(
        default=TierBasis.LIFETIME,
        description="Tiers by every point ever earned, or by those of the last 12 months",
    )
    tiers: list[Tier] = Field(default_factory=list, max_length=20)
    expiry_days: Days | None = Field(
        default=None, description="Points expire this long after they were earned; null: never"
    )
    pending_days: PendingDays = Field(
        default=0, description="Earned points become spendable after this (the return window)"
    )
    allow_negative_balance: bool = Field(
        default=False,
        description="Whether taking back a returned order's points may leave a debt",
    )

    def to_domain(self, now: datetime) -> ProgramValue:
        """The program as it will be stored (the database gives it its id)."""
        return ProgramValue(
            id=UUID(int=0),
            name=self.name,
            currency=self.currency,
            earn_rate=_rate(self.earn_rate),
            tier_basis=self.tier_basis,
            tiers=tuple(t.to_domain() for t in self.tiers),
            expiry_days=self.expiry_days,
            pending_days=self.pending_days,
            allow_negative_balance=self.allow_negative_balance,
            status=ProgramStatus.ACTIVE,
            created_at=now,
            updated_at=now,
        )


def _rate(rate: EarnRate) -> EarnRateValue:
    return EarnRateValue(points=rate.points, per_amount=rate.per_amount)


class ProgramUpdate(RequestModel):
    """Only the fields sent change. New terms apply to points earned from now on."""

    model_config = example("ProgramUpdate")

    name: Name | None = None
    earn_rate: EarnRate | None = None
    tier_basis: Annotated[TierBasis, FROM_JSON_STRING] | None = None
    tiers: list[Tier] | None = Field(default=None, max_length=20)
    expiry_days: Days | None = None
    pending_days: PendingDays | None = None
    allow_negative_balance: bool | None = None
    status: Annotated[ProgramStatus, FROM_JSON_STRING] | None = Field(
        default=None, description="'archived': earns nothing more; balances stay spendable"
    )

    def changes(self) -> dict[str, Any]:
        sent = self.model_fields_set
        values: dict[str, Any] = {}
        for name in ("name", "tier_basis", "pending_days", "allow_negative_balance", "status"):
            if name in sent and getattr(self, name) is not None:
                values[name] = getattr(self, name)
        if "expiry_days" in sent:  # null: points stop expiring
            values["expiry_days"] = self.expiry_days
        if self.earn_rate is not None:
            values["earn_rate"] = _rate(self.earn_rate)
        if self.tiers is not None:
            values["tiers"] = tuple(t.to_domain() for t in self.tiers)
        return values


class Program(BaseModel):
    id: UUID
    name: str
    currency: str
    earn_rate: EarnRate
    tier_basis: TierBasis
    tiers: list[Tier]
    expiry_days: int | None
    pending_days: int
    allow_negative_balance: bool
    status: ProgramStatus
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, program: ProgramValue) -> "Program":
        return cls(
            id=program.id,
            name=program.name,
            currency=program.currency,
            earn_rate=EarnRate(
                points=program.earn_rate.points, per_amount=program.earn_rate.per_amount
            ),
            tier_basis=program.tier_basis,
            tiers=[Tier.of(t) for t in program.tiers],
            expiry_days=program.expiry_days,
            pending_days=program.pending_days,
            allow_negative_balance=program.allow_negative_balance,
            status=program.status,
            created_at=program.created_at,
            updated_at=program.updated_at,
        )


class ProgramList(BaseModel):
    data: list[Program]
    next_cursor: str | None


class RewardCreate(RequestModel):
    model_config = example("RewardCreate")

    name: Name = Field(examples=["5.00 off"])
    points_cost: PositivePoints = Field(examples=[100])
    amount_off: PositiveAmount = Field(description="In the program's currency", examples=[500])
    min_subtotal: PositiveAmount | None = Field(
        default=None, description="The order must be at least this much", examples=[1000]
    )
    valid_days: Days = Field(default=30, description="The code expires after this")


class RewardUpdate(RequestModel):
    model_config = example("RewardUpdate")

    status: Annotated[ProgramStatus, FROM_JSON_STRING] = Field(
        description="'archived': can no longer be bought (codes already bought keep working)"
    )


class Reward(BaseModel):
    id: UUID
    program_id: UUID
    campaign_id: UUID = Field(description="The campaign (kind 'reward') holding its codes")
    name: str
    points_cost: int
    amount_off: int
    min_subtotal: int | None
    valid_days: int
    status: ProgramStatus
    created_at: datetime

    @classmethod
    def of(cls, reward: RewardValue) -> "Reward":
        return cls(
            id=reward.id,
            program_id=reward.program_id,
            campaign_id=reward.campaign_id,
            name=reward.name,
            points_cost=reward.points_cost,
            amount_off=reward.amount,
            min_subtotal=reward.min_subtotal,
            valid_days=reward.valid_days,
            status=reward.status,
            created_at=reward.created_at,
        )


class RewardList(BaseModel):
    data: list[Reward]


class TierStatus(BaseModel):
    key: str
    label: str
    threshold: int
    multiplier_percent: int


class MemberBalance(BaseModel):
    program_id: UUID
    customer_id: str
    available_points: int = Field(description="Spendable now (negative only while in debt)")
    pending_points: int = Field(description="Earned, spendable once the return window passes")
    expiring_points: int = Field(description="Lost by `expiring_before` unless spent")
    expiring_before: datetime
    lifetime_points: int = Field(description="Every point earned from orders, minus returns")
    qualifying_points: int = Field(description="The points that place the member in a tier")
    tier: TierStatus | None
    next_tier: TierStatus | None
    points_to_next_tier: int | None


class EarnCreate(RequestModel):
    model_config = example("EarnCreate")

    customer_id: CustomerId
    order_id: ExternalId = Field(description="Earns once per program")
    amount: Amount = Field(description="What the order paid, in minor units")
    currency: CurrencyCode


class Earned(BaseModel):
    entry_id: UUID
    order_id: str
    customer_id: str
    points: int
    amount: int
    multiplier_percent: int = Field(description="The member's tier multiplier when earned")
    available_at: datetime
    expires_at: datetime | None
    created_at: datetime
    balance: MemberBalance


class RewardRedemptionCreate(RequestModel):
    model_config = example("RewardRedemptionCreate")

    reward_id: Annotated[UUID, FROM_JSON_STRING]


class RewardRedemption(BaseModel):
    entry_id: UUID
    reward_id: UUID
    points_spent: int
    code: str = Field(description="Single use, only for this customer")
    code_id: UUID
    campaign_id: UUID
    expires_at: datetime
    created_at: datetime
    balance: MemberBalance


def _not_zero(points: int) -> int:
    if points == 0:
        raise ValueError("must not be 0")
    return points


class AdjustmentCreate(RequestModel):
    model_config = example("AdjustmentCreate")

    points: Annotated[
        int,
        Field(ge=-MAX_POINTS, le=MAX_POINTS, json_schema_extra={"not": {"const": 0}}),
        AfterValidator(_not_zero),
        JSON_INTEGER,
    ] = Field(
        description="Added when positive, removed (soonest to expire first) when negative; never 0",
        examples=[250],
    )
    reason: Reason


class Adjustment(BaseModel):
    entry_id: UUID
    points: int
    reason: str
    created_at: datetime
    balance: MemberBalance


class LedgerEntry(BaseModel):
    id: UUID
    kind: EntryKind
    amount: int = Field(description="Points or minor units; credits positive, debits negative")
    order_id: str | None
    redemption_id: UUID | None
    reward_id: UUID | None
    code_id: UUID | None
    api_key_id: UUID | None
    reason: str | None
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, entry: Entry) -> "LedgerEntry":
        return cls(
            id=entry.id,
            kind=entry.kind,
            amount=entry.amount,
            order_id=entry.order_id,
            redemption_id=entry.redemption_id,
            reward_id=entry.reward_id,
            code_id=entry.code_id,
            api_key_id=entry.api_key_id,
            reason=entry.reason,
            details=dict(entry.details),
            created_at=entry.created_at,
        )


class LedgerEntryList(BaseModel):
    data: list[LedgerEntry]
    next_cursor: str | None


class ExpiryRun(BaseModel):
    accounts: int = Field(description="Balances that lost something")
    lots: int
    amount: int = Field(description="Points and minor units together, as a count")


class ExpiryNoticeRunCreate(RequestModel):
    model_config = example("ExpiryNoticeRunCreate")

    within_days: int = Field(
        ge=1, le=365, description="Announce points expiring within this many days"
    )


class ExpiryNoticeRun(BaseModel):
    members: int = Field(description="Members told (one points.expiring event each)")
    points: int = Field(description="The points those events announce, in all")


class GiftCardCreate(RequestModel):
    model_config = example("GiftCardCreate")

    currency: CurrencyCode
    amount: PositiveAmount
    code: CodeText | None = Field(
        default=None, description="Your own code (e.g. printed on a card); drawn when absent"
    )
    customer_id: CustomerId | None = Field(
        default=None, description="Only this customer may pay with it"
    )
    expires_at: Timestamp | None = None


class GiftCardLookup(RequestModel):
    model_config = example("GiftCardLookup")

    code: CodeText = Field(examples=["GC7K-2M9Q-XW4R-8TPB"])
    customer_id: CustomerId | None = Field(
        default=None,
        description="The shopper asking: a card bound to a customer is found only with that "
        "customer's id",
    )
    client_ip: ClientIp | None = None


class TopUpCreate(RequestModel):
    model_config = example("TopUpCreate")

    amount: PositiveAmount
    currency: CurrencyCode


class BalanceCode(BaseModel):
    id: UUID
    kind: Literal["gift_card", "wallet"]
    code: str
    currency: str
    customer_id: str | None
    available_amount: int = Field(description="What it pays at /redeem now")
    pending_amount: int = Field(description="Cashback still in its return window")
    expires_at: datetime | None
    created_at: datetime


class BalanceCodeList(BaseModel):
    data: list[BalanceCode]
