from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from app.api.schemas.campaigns import Code
from app.api.schemas.common import (
    NOT_BLANK,
    BasisPoints,
    CurrencyCode,
    CustomerId,
    Email,
    PositiveAmount,
    RequestModel,
    Sku,
    Timestamp,
)
from app.api.schemas.examples import example
from app.domain.audit import Action
from app.domain.audit import AuditEvent as AuditEventValue
from app.domain.campaigns import Code as CodeValue
from app.domain.reasons import Reason as VerdictReason
from app.domain.support import IssuingLimits as IssuingLimitsValue
from app.domain.verdicts import VerdictSource

Reason = Annotated[
    str,
    StringConstraints(min_length=3, max_length=500, pattern=NOT_BLANK),
    Field(description="Why the code is given; kept in the audit trail", examples=["Parcel late"]),
]


class CustomerById(RequestModel):
    id: CustomerId


class CustomerByEmail(RequestModel):
    """The address is trimmed and lower-cased, and is then the customer id the checkout must
    send."""

    email: Email


class AmountOffSpec(RequestModel):
    amount: PositiveAmount
    currency: CurrencyCode


class SupportCodeCreate(RequestModel):
    """Give `amount_off` or `percent_off` (not both), `free_shipping`, or a value and free
    shipping; a code that takes nothing off is refused with `invalid_support_code`."""

    model_config = example("SupportCodeCreate")

    customer: CustomerById | CustomerByEmail
    amount_off: AmountOffSpec | None = Field(default=None, description="A fixed amount off")
    percent_off: BasisPoints | None = Field(default=None, description="Basis points off")
    free_shipping: bool = False
    skus: list[Sku] = Field(
        default_factory=list, max_length=100, description="Only these products; empty = all"
    )
    expires_at: Timestamp | None = Field(default=None, description="Default: 30 days from now")
    reason: Reason


class SupportCode(BaseModel):
    code: str
    code_id: UUID
    campaign_id: UUID
    customer_id: str
    amount: int | None
    currency: str | None
    basis_points: int | None
    free_shipping: bool
    skus: list[str]
    expires_at: datetime
    reason: str
    issued_by: UUID = Field(description="The API key that issued it")
    created_at: datetime


class AvailableCode(Code):
    campaign_name: str

    @classmethod
    def with_campaign(cls, code: CodeValue, campaign_name: str) -> "AvailableCode":
        return cls(**Code.of(code).model_dump(), campaign_name=campaign_name)


class AvailableCodeList(BaseModel):
    data: list[AvailableCode]


class IssuingLimitsSpec(RequestModel):
    model_config = example("IssuingLimitsSpec")

    currency: CurrencyCode
    max_code_amount: PositiveAmount = Field(description="Most one code may take off, fixed")
    max_code_basis_points: BasisPoints = Field(description="Most one code may take off, in %")
    daily_amount: PositiveAmount = Field(description="Fixed amounts issued per UTC day, total")


class IssuingLimits(BaseModel):
    api_key_id: UUID
    currency: str
    max_code_amount: int
    max_code_basis_points: int
    daily_amount: int

    @classmethod
    def of(cls, limits: IssuingLimitsValue) -> "IssuingLimits":
        return cls(
            api_key_id=limits.api_key_id,
            currency=limits.currency,
            max_code_amount=limits.max_code_amount,
            max_code_basis_points=limits.max_code_basis_points,
            daily_amount=limits.daily_amount,
        )


class AuditEvent(BaseModel):
    id: UUID
    at: datetime
    api_key_id: UUID | None = Field(description="Who acted; null for the service itself")
    action: Action
    campaign_id: UUID | None
    customer_id: str | None
    subject_id: UUID | None = Field(description="The key, code or job acted on")
    reason: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, event: AuditEventValue) -> "AuditEvent":
        entry = event.entry
        return cls(
            id=event.id,
            at=event.at,
            api_key_id=entry.api_key_id,
            action=entry.action,
            campaign_id=entry.campaign_id,
            customer_id=entry.customer_id,
            subject_id=entry.subject_id,
            reason=entry.reason,
            details=dict(entry.details),
        )


class AuditEventList(BaseModel):
    data: list[AuditEvent]
    next_cursor: str | None


class LoggedVerdict(BaseModel):
    at: datetime
    source: VerdictSource = Field(description="'validate', 'redeem' or 'hold'")
    code: str = Field(description="As the checkout sent it")
    reason: VerdictReason
    message: str = Field(description="What the shopper was told")
    campaign_id: UUID | None = Field(description="Null for a code that matched none")


class LoggedVerdictList(BaseModel):
    data: list[LoggedVerdict]
    next_cursor: str | None
