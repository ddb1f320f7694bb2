"""Support agents' apology codes: one code for one customer, within the key's issuing limits,
recorded in the audit trail; and the codes a customer could use now."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from app.db.uow import UnitOfWork
from app.domain.api_keys import ApiKey, Scope
from app.domain.audit import Action, AuditEntry
from app.domain.benefits import AmountOff, Effect, PercentOff, ShippingOff
from app.domain.campaigns import CampaignKind, Code, CodeSource, Trigger
from app.domain.codegen import parse_spec
from app.domain.conditions import Conditions, Target
from app.domain.rules import Rules, Stacking
from app.domain.support import IssuingLimits, check_code_value
from app.domain.verdicts import LoggedVerdict
from app.services.campaigns import insert_bound_code
from app.services.errors import (
    ApiKeyNotFound,
    Forbidden,
    InvalidSupportCode,
    IssuingLimitExceeded,
    IssuingLimitsNotFound,
)
from app.services.idempotency import IdempotencyClaim, Written, write_once

DEFAULT_VALIDITY = timedelta(days=30)
# Support codes are drawn like pool codes (no look-alikes), a little longer since each stands
# alone; a collision with an existing code is drawn again.
_SUPPORT_CODE = parse_spec(length=12)


@dataclass(frozen=True, slots=True)
class ApologyTerms:
    customer_id: str
    reason: str
    amount: int | None = None
    currency: str | None = None
    basis_points: int | None = None
    free_shipping: bool = False
    skus: frozenset[str] = frozenset()
    expires_at: datetime | None = None

    def check(self, now: datetime) -> None:
        """One value at most (a fixed amount or a percentage), and something off at all."""
        if self.amount is not None and self.basis_points is not None:
            raise InvalidSupportCode(
                "Give 'amount_off' or 'percent_off', not both.", fields=["amount_off"]
            )
        if self.amount is None and self.basis_points is None and not self.free_shipping:
            raise InvalidSupportCode(
                "The code takes nothing off: give 'amount_off', 'percent_off' or 'free_shipping'.",
                fields=["amount_off", "percent_off", "free_shipping"],
            )
        if self.expires_at is not None and self.expires_at <= now:
            raise InvalidSupportCode("'expires_at' is in the past.", fields=["expires_at"])

    def effects(self) -> tuple[Effect, ...]:
        effects: list[Effect] = []
        if self.amount is not None and self.currency is not None:
            effects.append(AmountOff(amounts={self.currency: self.amount}))
        if self.basis_points is not None:
            effects.append(PercentOff(basis_points=self.basis_points))
        if self.free_shipping:
            effects.append(ShippingOff(basis_points=10_000))
        return tuple(effects)


@dataclass(frozen=True, slots=True)
class SupportCodeIssued:
    """An apology code as issued: what it takes off, for whom, why and by which key."""

    code: str
    code_id: UUID
    campaign_id: UUID
    customer_id: str
    amount: int | None
    currency: str | None
    basis_points: int | None
    free_shipping: bool
    skus: tuple[str, ...]
    expires_at: datetime
    reason: str
    issued_by: UUID
    created_at: datetime


async def _check_limits(uow: UnitOfWork, actor: ApiKey, terms: ApologyTerms, now: datetime) -> None:
    """Refuse a code over the key's per-code limit, or one whose fixed amount would take the
    key's issued total for the UTC day past its daily limit (counted here, atomically). An
    admin key without limits is not limited; a support key must have them."""
    limits: IssuingLimits | None = await uow.support.limits(actor.id)
    if limits is None:
        if actor.holds(Scope.ADMIN):
            return
        raise Forbidden(
            "This key has no issuing limits, so it cannot issue codes; an admin sets them with "
            f"PUT /v1/api-keys/{actor.id}/issuing-limits."
        )
    over = check_code_value(
        limits, amount=terms.amount, currency=terms.currency, basis_points=terms.basis_points
    )
    if over is not None:
        raise IssuingLimitExceeded(over.detail, fields=[over.field], limit="per_code")
    if terms.amount is not None:
        total = await uow.support.add_issued(
            actor.id, now.date(), terms.amount, limits.daily_amount
        )
        if total is None:
            raise IssuingLimitExceeded(
                f"Issuing {terms.amount} more would take this key past its daily limit of "
                f"{limits.daily_amount} ({limits.currency} minor units, UTC day).",
                fields=["amount"],
                limit="daily",
            )


async def issue_code(
    uow: UnitOfWork, actor: ApiKey, terms: ApologyTerms, claim: IdempotencyClaim, now: datetime
) -> Written[SupportCodeIssued]:
    """One single-use code for one customer: its own campaign (kind 'support') with the
    chosen effects, limits checked, the audit event and the answer stored, all in one
    transaction. A retry with the same Idempotency-Key returns the same code."""
    terms.check(now)

    async def issue() -> SupportCodeIssued:
        await _check_limits(uow, actor, terms, now)
        campaign = await uow.campaigns.insert(
            name=f"Apology for {terms.customer_id}"[:200],
            trigger=Trigger.CODE,
            kind=CampaignKind.SUPPORT,
            rules=Rules(
                effects=terms.effects(), target=Target(skus=terms.skus), conditions=Conditions()
            ),
            stacking=Stacking(),
            starts_at=None,
            ends_at=None,
            per_customer_limit=None,
            metadata={"reason": terms.reason},
        )
        code = await insert_bound_code(
            uow,
            _SUPPORT_CODE,
            campaign_id=campaign.id,
            customer_id=terms.customer_id,
            expires_at=terms.expires_at or now + DEFAULT_VALIDITY,
            source=CodeSource.SUPPORT,
        )
        assert code.customer_id is not None, "a support code is bound to its customer"
        assert code.expires_at is not None, "a support code expires"
        await uow.audit.record(
            AuditEntry(
                action=Action.SUPPORT_CODE_ISSUED,
                api_key_id=actor.id,
                campaign_id=campaign.id,
                customer_id=terms.customer_id,
                subject_id=code.id,
                reason=terms.reason,
                details={
                    "code": code.code,
                    "amount": terms.amount,
                    "currency": terms.currency,
                    "basis_points": terms.basis_points,
                    "free_shipping": terms.free_shipping,
                },
            )
        )
        return SupportCodeIssued(
            code=code.code,
            code_id=code.id,
            campaign_id=campaign.id,
            customer_id=code.customer_id,
            amount=terms.amount,
            currency=terms.currency,
            basis_points=terms.basis_points,
            free_shipping=terms.free_shipping,
            skus=tuple(sorted(terms.skus)),
            expires_at=code.expires_at,
            reason=terms.reason,
            issued_by=actor.id,
            created_at=code.created_at,
        )

    return await write_once(uow, claim, issue)


async def available_codes(
    uow: UnitOfWork, customer_id: str, now: datetime
) -> list[tuple[Code, str]]:
    async with uow:
        return await uow.support.available_codes(customer_id, now)


async def set_issuing_limits(
    uow: UnitOfWork, actor: ApiKey, limits: IssuingLimits
) -> IssuingLimits:
    async with uow:
        if not await uow.api_keys.exists(limits.api_key_id):
            raise ApiKeyNotFound(f"No API key has id {limits.api_key_id}.")
        stored = await uow.support.set_limits(limits)
        await uow.audit.record(
            AuditEntry(
                action=Action.ISSUING_LIMITS_SET,
                api_key_id=actor.id,
                subject_id=limits.api_key_id,
                details={
                    "currency": limits.currency,
                    "max_code_amount": limits.max_code_amount,
                    "max_code_basis_points": limits.max_code_basis_points,
                    "daily_amount": limits.daily_amount,
                },
            )
        )
        await uow.commit()
    return stored


async def get_issuing_limits(uow: UnitOfWork, api_key_id: UUID) -> IssuingLimits:
    async with uow:
        limits = await uow.support.limits(api_key_id)
    if limits is None:
        raise IssuingLimitsNotFound(f"API key {api_key_id} has no issuing limits.")
    return limits


async def recent_verdicts(
    uow: UnitOfWork, customer_id: str, *, limit: int, before: tuple[datetime, UUID] | None
) -> list[tuple[UUID, LoggedVerdict]]:
    """The customer's refused codes (validate, redeem, hold), newest first, for 30 days."""
    async with uow:
        return await uow.support.recent_verdicts(customer_id, limit=limit, before=before)
