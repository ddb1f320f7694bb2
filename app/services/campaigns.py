"""Campaigns and their named codes: the marketer's and admin's side."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from app.db.errors import CheckViolationError, DuplicateKeyError
from app.db.uow import UnitOfWork
from app.domain.audit import Action, AuditEntry
from app.domain.budgets import REDEMPTIONS, Budget
from app.domain.campaigns import (
    Campaign,
    CampaignKind,
    CampaignStatus,
    Code,
    CodeSource,
    Trigger,
)
from app.domain.codegen import CodeSpec, generate
from app.domain.codes import display, is_well_formed, normalise
from app.domain.counters import counts_on_row, respread
from app.domain.periods import Per, PeriodLimits, is_time_zone
from app.domain.rules import Rules, Stacking
from app.services.errors import (
    CampaignNotFound,
    CodeAlreadyExists,
    CodeInUse,
    CodeNotFound,
    InvalidCampaign,
    InvalidCode,
    InvalidCodeTerms,
)

# Pool codes: a claim binds them to their customer.
_CLAIMED = frozenset({CodeSource.GENERATED, CodeSource.IMPORTED})
# A drawn code that collides with an existing one is drawn again, at most this often in all.
_DRAWS = 3
_Inserted = TypeVar("_Inserted")


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    """What an admin sets on a campaign; checked as a whole before it is stored."""

    name: str
    rules: Rules
    trigger: Trigger = Trigger.CODE
    stacking: Stacking = field(default_factory=Stacking)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    per_customer_limit: int | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)
    budget: Budget = field(default_factory=Budget)
    honour_holds: bool = True
    advertised: bool = False


@dataclass(frozen=True, slots=True)
class CodeChanges:
    """What an edit of one code changes: only the fields named in `sent`; None clears one."""

    sent: frozenset[str]
    max_redemptions: int | None = None
    per_customer_limit: int | None = None
    customer_id: str | None = None
    expires_at: datetime | None = None

    def __post_init__(self) -> None:
        unknown = self.sent - {"max_redemptions", "per_customer_limit", "customer_id", "expires_at"}
        if unknown:
            raise ValueError(f"not changeable code terms: {sorted(unknown)}")


@dataclass(frozen=True, slots=True)
class CodeTerms:
    code: str
    max_redemptions: int | None = None
    per_customer_limit: int | None = None
    customer_id: str | None = None
    expires_at: datetime | None = None


def _keep_referral_limits(campaign: Campaign, changes: Mapping[str, Any]) -> None:
    """A referral campaign's abuse limits stay: one friend reward per customer, for a first
    order, never offered to everyone (domain/referrals.py)."""
    if campaign.kind is not CampaignKind.REFERRAL:
        return
    conditions = changes.get("conditions")
    if (
        ("per_customer_limit" in changes and changes["per_customer_limit"] != 1)
        or changes.get("advertised")
        or (conditions is not None and not conditions.first_order_only)
    ):
        raise InvalidCampaign(
            "A referral campaign keeps its limits: one reward per customer "
            "(per_customer_limit 1), for a first order, not advertised.",
            fields=["per_customer_limit", "advertised", "conditions"],
        )


def check_terms(terms: CampaignTerms) -> None:
    """What a campaign's terms must hold together (422 invalid_campaign otherwise)."""
    if terms.starts_at and terms.ends_at and terms.ends_at <= terms.starts_at:
        raise InvalidCampaign("'ends_at' must be after 'starts_at'.", fields=["ends_at"])
    if terms.trigger is Trigger.AUTOMATIC and any(
        limit.per is Per.CODE for limit in terms.rules.periods.limits
    ):
        raise InvalidCampaign(
            "An automatic campaign has no codes: a limit per code would never count.",
            fields=["period_limits"],
        )
    kinds = [(limit.per, limit.period) for limit in terms.rules.periods.limits]
    if len(set(kinds)) != len(kinds):
        raise InvalidCampaign(
            "One limit per 'per' and 'period': two limits would count the same redemptions.",
            fields=["period_limits"],
        )
    if terms.rules.currencies() == frozenset():
        raise InvalidCampaign(
            "No currency has an entry in every amount the campaign sets (effects and "
            "conditions): it could never apply to any cart.",
            fields=["effects", "conditions"],
        )
    zone = terms.rules.periods.time_zone
    if not is_time_zone(zone):
        raise InvalidCampaign(
            f"'{zone}' is not an IANA time zone (tz database name).", fields=["time_zone"]
        )


def _check_budget(budget: Budget, used: Mapping[str, int]) -> None:
    """A cap may not go below what the campaign used of it already."""
    for unit, cap in budget.caps().items():
        if cap < used.get(unit, 0):
            what = "redemptions" if unit == REDEMPTIONS else f"{unit} off"
            field_name = "max_redemptions" if unit == REDEMPTIONS else "max_discount"
            raise InvalidCampaign(
                f"The campaign has used {used[unit]} {what} already: its budget cannot go "
                "below that.",
                fields=[f"budget.{field_name}"],
            )


async def create_campaign(uow: UnitOfWork, terms: CampaignTerms, *, actor: UUID | None) -> Campaign:
    """Store a new, active campaign whose terms are consistent."""
    check_terms(terms)
    async with uow:
        campaign = await uow.campaigns.insert(
            name=terms.name,
            trigger=terms.trigger,
            rules=terms.rules,
            stacking=terms.stacking,
            starts_at=terms.starts_at,
            ends_at=terms.ends_at,
            per_customer_limit=terms.per_customer_limit,
            metadata=terms.metadata,
            budget=terms.budget,
            honour_holds=terms.honour_holds,
            advertised=terms.advertised,
        )
        await uow.audit.record(
            AuditEntry(
                Action.CAMPAIGN_CREATED,
                actor,
                campaign_id=campaign.id,
                details={"name": terms.name},
            )
        )
        await uow.commit()
    return campaign


async def get_campaign(uow: UnitOfWork, campaign_id: UUID) -> Campaign:
    async with uow:
        campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"No campaign has id {campaign_id}.")
    return campaign


@dataclass(frozen=True, slots=True)
class CampaignFilter:
    """Which campaigns to list: every field given must hold."""

    status: CampaignStatus | None = None
    trigger: Trigger | None = None
    kind: CampaignKind | None = None


async def list_campaigns(
    uow: UnitOfWork,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
    where: CampaignFilter = CampaignFilter(),
) -> list[Campaign]:
    async with uow:
        return await uow.campaigns.list_page(
            limit=limit, after=after, status=where.status, trigger=where.trigger, kind=where.kind
        )


_CHANGEABLE = frozenset(
    {
        "name",
        "effects",
        "target",
        "conditions",
        "stacking",
        "starts_at",
        "ends_at",
        "per_customer_limit",
        "metadata",
        "budget",
        "honour_holds",
        "advertised",
        "period_limits",
        "time_zone",
        "rounding",
        "calculation_base",
    }
)


async def update_campaign(
    uow: UnitOfWork, campaign_id: UUID, changes: Mapping[str, Any], *, actor: UUID | None
) -> Campaign:
    """Change some terms (effects, target and conditions each replaced whole); the campaign as
    it would be afterwards must be consistent."""
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise ValueError(f"not changeable campaign terms: {sorted(unknown)}")
    async with uow:
        current = await uow.campaigns.get(campaign_id, for_update=True)
        if current is None:
            raise CampaignNotFound(f"No campaign has id {campaign_id}.")
        _keep_referral_limits(current, changes)
        periods = current.rules.periods
        rules = Rules(
            effects=changes.get("effects", current.rules.effects),
            target=changes.get("target", current.rules.target),
            conditions=changes.get("conditions", current.rules.conditions),
            periods=PeriodLimits(
                time_zone=changes.get("time_zone", periods.time_zone),
                limits=changes.get("period_limits", periods.limits),
            ),
            rounding=changes.get("rounding", current.rules.rounding),
            base=changes.get("calculation_base", current.rules.base),
        )
        in_rules = {
            "effects",
            "target",
            "conditions",
            "period_limits",
            "time_zone",
            "rounding",
            "calculation_base",
        }
        columns = {k: v for k, v in changes.items() if k not in in_rules}
        if rules != current.rules:
            columns["rules"] = rules
        merged = CampaignTerms(
            name=columns.get("name", current.name),
            rules=rules,
            trigger=current.trigger,
            stacking=columns.get("stacking", current.stacking),
            starts_at=columns.get("starts_at", current.starts_at),
            ends_at=columns.get("ends_at", current.ends_at),
            per_customer_limit=columns.get("per_customer_limit", current.per_customer_limit),
            metadata=columns.get("metadata", current.metadata),
        )
        check_terms(merged)
        budget: Budget | None = columns.pop("budget", None)
        if budget is not None:
            # A cap that stays keeps its count (its row is locked: get(for_update=True)); a new
            # one starts from what the live redemptions used.
            used = {
                unit: current.budget_used[unit]
                if unit in current.budget_used
                else await uow.campaigns.history_used(campaign_id, unit)
                for unit in budget.caps()
            }
            _check_budget(budget, used)
            try:
                await uow.campaigns.set_budget(campaign_id, budget)
            except CheckViolationError as exc:
                raise InvalidCampaign(
                    "Redemptions since the check used more than the new budget allows.",
                    fields=["budget"],
                ) from exc
        changed = columns or budget is not None
        updated = await uow.campaigns.update(campaign_id, columns) if changed else current
        assert updated is not None
        await uow.audit.record(
            AuditEntry(
                Action.CAMPAIGN_UPDATED,
                actor,
                campaign_id=campaign_id,
                details={"changed": sorted(changes)},
            )
        )
        await uow.commit()
    return updated


async def set_campaign_status(
    uow: UnitOfWork, campaign_id: UUID, status: CampaignStatus, *, actor: UUID | None
) -> Campaign:
    """Pause or resume. A redeem that starts after this returns sees the new status; one already
    past its consuming statement may still complete."""
    async with uow:
        campaign = await uow.campaigns.set_status(campaign_id, status)
        if campaign is None:
            raise CampaignNotFound(f"No campaign has id {campaign_id}.")
        action = (
            Action.CAMPAIGN_PAUSED if status is CampaignStatus.PAUSED else Action.CAMPAIGN_RESUMED
        )
        await uow.audit.record(AuditEntry(action, actor, campaign_id=campaign_id))
        await uow.commit()
    return campaign


async def code_campaign(uow: UnitOfWork, campaign_id: UUID) -> Campaign:
    """The campaign, inside the caller's unit of work, if it exists and takes codes."""
    campaign = await uow.campaigns.get(campaign_id)
    if campaign is None:
        raise CampaignNotFound(f"No campaign has id {campaign_id}.")
    if campaign.trigger is Trigger.AUTOMATIC:
        raise InvalidCampaign(
            "This campaign is automatic: it applies without codes.", fields=["trigger"]
        )
    return campaign


async def create_code(
    uow: UnitOfWork, campaign_id: UUID, terms: CodeTerms, *, actor: UUID | None
) -> Code:
    """Add a named code to a campaign. Codes are unique after normalisation across campaigns."""
    normalised = normalise(terms.code)
    if not is_well_formed(normalised):
        raise InvalidCode(
            "A code is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit.",
            fields=["code"],
        )
    async with uow:
        await code_campaign(uow, campaign_id)
        try:
            code = await uow.codes.insert(
                campaign_id=campaign_id,
                code=display(terms.code),
                normalised_code=normalised,
                max_redemptions=terms.max_redemptions,
                per_customer_limit=terms.per_customer_limit,
                customer_id=terms.customer_id,
                expires_at=terms.expires_at,
            )
        except DuplicateKeyError as exc:
            raise CodeAlreadyExists(f"The code '{display(terms.code)}' already exists.") from exc
        await uow.audit.record(
            AuditEntry(
                Action.CODE_CREATED,
                actor,
                campaign_id=campaign_id,
                customer_id=code.customer_id,
                subject_id=code.id,
                details={"code": code.code},
            )
        )
        await uow.commit()
    return code


async def insert_drawn(spec: CodeSpec, insert: Callable[[str], Awaitable[_Inserted]]) -> _Inserted:
    """insert(text) for a text drawn from spec, drawing again when the text is taken (the
    unique index decides, inside the caller's transaction)."""
    for attempt in range(_DRAWS):
        [text] = generate(spec, 1)
        try:
            return await insert(text)
        except DuplicateKeyError:
            if attempt == _DRAWS - 1:
                raise
    raise AssertionError("unreachable")


async def insert_bound_code(
    uow: UnitOfWork,
    spec: CodeSpec,
    *,
    campaign_id: UUID,
    customer_id: str,
    expires_at: datetime,
    source: CodeSource,
) -> Code:
    """A drawn single-use code only customer_id may use (a support apology code, a loyalty
    reward), inside the caller's unit of work."""
    return await insert_drawn(
        spec,
        lambda text: uow.codes.insert(
            campaign_id=campaign_id,
            code=text,
            normalised_code=normalise(text),
            max_redemptions=1,
            per_customer_limit=None,
            customer_id=customer_id,
            expires_at=expires_at,
            source=source,
        ),
    )


async def get_code(uow: UnitOfWork, code_id: UUID) -> Code:
    async with uow:
        code = await uow.codes.get(code_id)
    if code is None:
        raise CodeNotFound(f"No code has id {code_id}.")
    return code


async def find_code(uow: UnitOfWork, text: str) -> Code:
    """The code with this text, as a shopper would type it (case and spacing do not matter)."""
    normalised = normalise(text)
    async with uow:
        code = await uow.codes.find(normalised) if is_well_formed(normalised) else None
    if code is None:
        raise CodeNotFound("No code has this text.")
    return code


async def set_code_disabled(
    uow: UnitOfWork, code_id: UUID, disabled: bool, now: datetime, *, actor: UUID | None
) -> Code:
    """Switch one code off (validate and redeem refuse it as `disabled`, claims skip it) or on
    again, whatever its campaign does. Switching off twice keeps the first time."""
    async with uow:
        code = await uow.codes.set_disabled(code_id, disabled, now)
        if code is None:
            raise CodeNotFound(f"No code has id {code_id}.")
        await uow.audit.record(
            AuditEntry(
                Action.CODE_DISABLED if disabled else Action.CODE_ENABLED,
                actor,
                campaign_id=code.campaign_id,
                customer_id=code.customer_id,
                subject_id=code.id,
            )
        )
        await uow.commit()
    return code


async def update_code(
    uow: UnitOfWork, code_id: UUID, changes: CodeChanges, *, actor: UUID | None
) -> Code:
    """Change one code's limit, per-customer limit, bound customer or expiry, whatever its
    campaign says. The limit cannot go below the uses already taken; a named code's counter
    rows are given the new limit (counters.respread) under their locks, so no redeem can pass
    either the old limit before or the new one after. A pool code's customer is its claim's."""
    async with uow:
        code = await uow.codes.lock(code_id)
        if code is None:
            raise CodeNotFound(f"No code has id {code_id}.")
        if "customer_id" in changes.sent and code.source in _CLAIMED:
            raise InvalidCodeTerms(
                "A pool code's customer is the one its claim handed it to; it cannot be changed.",
                fields=["customer_id"],
            )
        if "max_redemptions" in changes.sent:
            limit = changes.max_redemptions
            if limit is not None and limit < code.redemption_count:
                raise InvalidCodeTerms(
                    f"The code has been redeemed {code.redemption_count} times: its limit "
                    "cannot go below that.",
                    fields=["max_redemptions"],
                )
            if not counts_on_row(code.source):
                used = await uow.codes.counter_uses(code.id)
                await uow.codes.set_counters(code.id, respread(used, limit))
        if not changes.sent:
            return code
        await uow.codes.update_terms(
            code.id, {name: getattr(changes, name) for name in changes.sent}
        )
        customer_id = changes.customer_id if "customer_id" in changes.sent else code.customer_id
        await uow.audit.record(
            AuditEntry(
                Action.CODE_UPDATED,
                actor,
                campaign_id=code.campaign_id,
                customer_id=customer_id,
                subject_id=code.id,
                details={"changed": sorted(changes.sent)},
            )
        )
        updated = await uow.codes.get(code.id)
        assert updated is not None, "the code is locked"
        await uow.commit()
    return updated


async def delete_code(uow: UnitOfWork, code_id: UUID, *, actor: UUID | None) -> None:
    """Delete a code nothing was ever recorded against: no redemption (not even one rolled
    back) and no ledger entry (a reward's spend). One that was used is kept for its history;
    disabling it stops it."""
    async with uow:
        code = await uow.codes.lock(code_id)
        if code is None:
            raise CodeNotFound(f"No code has id {code_id}.")
        if code.redemption_count or await uow.codes.ever_recorded(code.id):
            raise CodeInUse(
                f"The code {code.code} has been redeemed or paid for, so its history keeps it; "
                f"disable it instead (POST /v1/codes/{code.id}/disable)."
            )
        await uow.codes.delete(code.id)
        await uow.audit.record(
            AuditEntry(
                Action.CODE_DELETED,
                actor,
                campaign_id=code.campaign_id,
                customer_id=code.customer_id,
                subject_id=code.id,
                details={"code": code.code},
            )
        )
        await uow.commit()


async def list_codes(
    uow: UnitOfWork, campaign_id: UUID, *, limit: int, after: tuple[datetime, UUID] | None
) -> list[Code]:
    async with uow:
        if await uow.campaigns.get(campaign_id) is None:
            raise CampaignNotFound(f"No campaign has id {campaign_id}.")
        return await uow.codes.list_page(campaign_id, limit=limit, after=after)
