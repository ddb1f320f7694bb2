"""Referral programs (domain/referrals.py): the program and its campaign, referrers' personal
codes, and the settlement that rewards referrers, run by the worker from the event feed: a
friend's order (redemption.created, or hold.redeemed, with a referrer's code) becomes a
pending referral; its rollback or whole return (redemption.rolled_back) inside the window
cancels it; once the window has passed the referrer gets the advocate reward, once, within
the program's limit per period. Reading the feed and settling run in one transaction, under
the reader's cursor row lock (another worker skips the round), so two workers never settle
one referral twice."""

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from app.db.errors import DATABASE_ERRORS, DuplicateKeyError
from app.db.repositories.referrals import ProgramRecord, ReferralRecord
from app.db.uow import UnitOfWork
from app.domain.audit import Action, AuditEntry
from app.domain.campaigns import CampaignKind, CodeSource, Trigger
from app.domain.codegen import generate, parse_spec
from app.domain.codes import normalise
from app.domain.events import Position
from app.domain.loyalty import ProgramStatus
from app.domain.periods import Period, period_bounds
from app.domain.referrals import email_key
from app.domain.rules import Rules, Stacking
from app.services import balances, members
from app.services.campaigns import CampaignTerms, check_terms, code_campaign, insert_bound_code
from app.services.errors import ReferralProgramNotFound
from app.services.loyalty import find_program

logger = logging.getLogger("tessera.referrals")

# The feed reader whose cursor settlement keeps.
READER = "referrals"
# Personal codes: 10 characters of the default alphabet after "REF-".
_CODE = parse_spec(length=10, prefix="REF-")
_DRAWS = 5
# An advocate's reward code: like a loyalty reward's.
_REWARD_CODE = parse_spec(length=12)
# A friend's order: redeemed directly, or a hold redeemed.
_ORDERED = frozenset({"redemption.created", "hold.redeemed"})


@dataclass(frozen=True, slots=True)
class AdvocateReward:
    """Points in a loyalty program, money into the wallet, or a single-use code of a campaign
    bound to the referrer (one of the three)."""

    points: int | None = None
    program_id: UUID | None = None
    amount: int | None = None
    currency: str | None = None
    campaign_id: UUID | None = None
    code_days: int | None = None


@dataclass(frozen=True, slots=True)
class ProgramTerms:
    name: str
    rules: Rules
    advocate: AdvocateReward
    window_days: int
    max_rewards: int | None = None
    max_rewards_period: str | None = None


@dataclass(frozen=True, slots=True)
class Program:
    id: UUID
    campaign_id: UUID
    advocate: AdvocateReward
    window_days: int
    max_rewards: int | None
    max_rewards_period: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ReferrerCode:
    program_id: UUID
    customer_id: str
    code: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Referral:
    id: UUID
    program_id: UUID
    referrer_id: str
    referee_id: str
    redemption_id: UUID
    status: str
    reason: str | None
    due_at: datetime
    settled_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Settled:
    scanned: int
    """Events read (so that a reader behind keeps going)."""
    referrals: int
    """Friends' orders taken in as pending referrals."""
    cancelled: int
    rewarded: int
    refused: int


def _program(record: ProgramRecord) -> Program:
    return Program(
        id=record.id,
        campaign_id=record.campaign_id,
        advocate=AdvocateReward(
            points=record.advocate_points,
            program_id=record.advocate_program_id,
            amount=record.advocate_amount,
            currency=record.advocate_currency,
            campaign_id=record.advocate_campaign_id,
            code_days=record.advocate_code_days,
        ),
        window_days=record.window_days,
        max_rewards=record.max_rewards,
        max_rewards_period=record.max_rewards_period,
        created_at=record.created_at,
    )


def _referral(record: ReferralRecord) -> Referral:
    return Referral(
        id=record.id,
        program_id=record.program_id,
        referrer_id=record.referrer_id,
        referee_id=record.referee_id,
        redemption_id=record.redemption_id,
        status=record.status,
        reason=record.reason,
        due_at=record.due_at,
        settled_at=record.settled_at,
        created_at=record.created_at,
    )


async def create_program(uow: UnitOfWork, terms: ProgramTerms, actor: UUID) -> Program:
    """The program and its campaign: the friend reward, for customers only, once each."""
    async with uow:
        if terms.advocate.program_id is not None:
            await find_program(uow, terms.advocate.program_id)
        if terms.advocate.campaign_id is not None:
            # Its codes are the advocate's reward: it must exist and take codes.
            await code_campaign(uow, terms.advocate.campaign_id)
        # A friend is a new customer: the reward is for a first order, whatever was sent.
        conditions = replace(terms.rules.conditions, first_order_only=True)
        friend = CampaignTerms(
            name=terms.name,
            rules=replace(terms.rules, conditions=conditions),
            trigger=Trigger.CODE,
            stacking=Stacking(),
            per_customer_limit=1,
        )
        check_terms(friend)
        campaign = await uow.campaigns.insert(
            name=friend.name,
            trigger=friend.trigger,
            rules=friend.rules,
            stacking=friend.stacking,
            starts_at=None,
            ends_at=None,
            per_customer_limit=friend.per_customer_limit,
            metadata={},
            kind=CampaignKind.REFERRAL,
        )
        record = await uow.referrals.create_program(
            campaign_id=campaign.id,
            window_days=terms.window_days,
            advocate_points=terms.advocate.points,
            advocate_program_id=terms.advocate.program_id,
            advocate_amount=terms.advocate.amount,
            advocate_currency=terms.advocate.currency,
            advocate_campaign_id=terms.advocate.campaign_id,
            advocate_code_days=terms.advocate.code_days,
            max_rewards=terms.max_rewards,
            max_rewards_period=terms.max_rewards_period,
        )
        await uow.audit.record(
            AuditEntry(
                Action.CAMPAIGN_CREATED,
                actor,
                campaign_id=campaign.id,
                details={"name": terms.name, "referral_program_id": str(record.id)},
            )
        )
        await uow.commit()
    return _program(record)


async def get_program(uow: UnitOfWork, program_id: UUID) -> Program:
    async with uow:
        return _program(await _find(uow, program_id))


async def _find(uow: UnitOfWork, program_id: UUID) -> ProgramRecord:
    record = await uow.referrals.program(program_id)
    if record is None:
        raise ReferralProgramNotFound(f"No referral program has id {program_id}.")
    return record


async def referrer_code(
    uow: UnitOfWork, program_id: UUID, customer_id: str, email: str | None
) -> tuple[ReferrerCode, bool]:
    """The customer's personal code in the program, made on the first request (True) and the
    same one after that (False; an e-mail given now is kept if none was before)."""
    key = email_key(email)
    async with uow:
        program = await _find(uow, program_id)
        for _ in range(_DRAWS):
            found = await uow.referrals.referrer_code(program.campaign_id, customer_id)
            if found is not None:
                if key is not None:
                    await uow.referrals.remember_email(found.id, key)
                    await uow.commit()
                return ReferrerCode(program_id, customer_id, found.code, found.created_at), False
            [text] = generate(_CODE, 1)
            try:
                code = await uow.codes.insert(
                    campaign_id=program.campaign_id,
                    code=text,
                    normalised_code=normalise(text),
                    max_redemptions=None,
                    per_customer_limit=None,
                    customer_id=None,
                    expires_at=None,
                    referrer_id=customer_id,
                    referrer_email_key=key,
                )
            except DuplicateKeyError:
                # The text was taken (draw again), or a request at the same moment made this
                # customer's code (read it again): either way, the loop's next turn.
                continue
            await uow.commit()
            return ReferrerCode(program_id, customer_id, code.code, code.created_at), True
    raise AssertionError("a personal code is found or made within a few draws")


async def referrals(
    uow: UnitOfWork,
    program_id: UUID,
    referrer_id: str | None,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[Referral]:
    """A page, newest first: those created before `before` (a cursor's place)."""
    async with uow:
        await _find(uow, program_id)
        found = await uow.referrals.of_program(program_id, referrer_id, limit, before)
    return [_referral(record) for record in found]


async def settle(uow: UnitOfWork, now: datetime, batch: int = 500) -> Settled:
    """Take in what the feed says about friends' orders, then reward the referrals whose
    window has passed (one transaction)."""
    async with uow:
        position = await uow.referrals.cursor(READER)
        if position is None:  # another worker is settling: one at a time
            return Settled(0, 0, 0, 0, 0)
        # Read whole (not filtered by type), so the cursor moves past what is not wanted too.
        rows = await uow.events.after(position, (), batch)
        added = cancelled = 0
        for row in rows:
            if row.type == "redemption.rolled_back":
                cancelled += await uow.referrals.cancel(row.subject_id, "rolled_back", now)
            elif row.type in _ORDERED:
                added += await _take_in(uow, row)
        if rows:
            await uow.referrals.move_cursor(READER, Position(rows[-1].txid, rows[-1].id))
        rewarded = refused = 0
        for referral in await uow.referrals.due(now, batch):
            try:
                async with uow.savepoint():
                    paid = await _reward(uow, referral, now)
            except DATABASE_ERRORS:
                raise  # the round fails whole, and is run again
            except Exception:
                # Never a poison pill for every referral after it: this one is refused.
                logger.exception("referral reward failed", extra={"referral": str(referral.id)})
                await uow.referrals.settle(referral.id, "refused", now, reason="reward_failed")
                paid = False
            if paid:
                rewarded += 1
            else:
                refused += 1
        await uow.commit()
    return Settled(len(rows), added, cancelled, rewarded, refused)


async def _take_in(uow: UnitOfWork, event: Any) -> int:
    """A pending referral for a friend's order that used a referrer's code (0 or 1)."""
    data = event.payload
    customer = data.get("customer_id")
    used = [p for p in data.get("promotions", ()) if p.get("code")]
    programs = await uow.referrals.programs_of([UUID(p["campaign_id"]) for p in used])
    for promotion in used:
        program = programs.get(UUID(promotion["campaign_id"]))
        if program is None or customer is None:
            continue
        text = normalise(promotion["code"])
        found = await uow.referrals.codes_by_text(program.campaign_id, [text])
        if text not in found:
            continue
        code_id, referrer = found[text]
        self_referred = referrer == customer  # refused at checkout: never, unless a bug
        await uow.referrals.add(
            program_id=program.id,
            code_id=code_id,
            referrer_id=referrer,
            referee_id=customer,
            redemption_id=event.subject_id,
            status="refused" if self_referred else "pending",
            reason="self_referral" if self_referred else None,
            due_at=event.created_at + timedelta(days=program.window_days),
        )
        return 1
    return 0


async def _reward(uow: UnitOfWork, referral: ReferralRecord, now: datetime) -> bool:
    """The advocate reward for a referral whose window passed, unless its order did not stand
    after all (cancelled: the feed's rollback may not have been read yet), its loyalty program
    is archived, or the referrer had as many as the program allows in the period it fell due
    in (refused)."""
    order = await uow.redemptions.get(referral.redemption_id)
    if order is None or order.status != "succeeded":
        await uow.referrals.settle(referral.id, "cancelled", now, reason="rolled_back")
        return False
    program = await uow.referrals.program(referral.program_id)
    assert program is not None, "a referral's program exists"
    if program.max_rewards is not None and program.max_rewards_period is not None:
        start, end = period_bounds(Period(program.max_rewards_period), referral.due_at)
        had = await uow.referrals.rewarded_within(program.id, referral.referrer_id, start, end)
        if had >= program.max_rewards:
            await uow.referrals.settle(referral.id, "refused", now, reason="limit_reached")
            return False
    details = {"referral_id": str(referral.id), "referee_id": referral.referee_id}
    if program.advocate_points is not None and program.advocate_program_id is not None:
        loyalty = await find_program(uow, program.advocate_program_id)
        if loyalty.status is ProgramStatus.ARCHIVED:
            await uow.referrals.settle(referral.id, "refused", now, reason="program_archived")
            return False
        entry = await members.credit_points(
            uow,
            program.advocate_program_id,
            referral.referrer_id,
            program.advocate_points,
            now,
            reason="referral reward",
            details=details,
        )
    elif program.advocate_campaign_id is not None and program.advocate_code_days is not None:
        code = await insert_bound_code(
            uow,
            _REWARD_CODE,
            campaign_id=program.advocate_campaign_id,
            customer_id=referral.referrer_id,
            expires_at=now + timedelta(days=program.advocate_code_days),
            source=CodeSource.REWARD,
        )
        await uow.referrals.settle(referral.id, "rewarded", now, code_id=code.id)
        return True
    else:
        assert program.advocate_amount is not None, "one advocate reward of three"
        assert program.advocate_currency is not None, "one advocate reward of three"
        entry = await balances.credit_wallet(
            uow,
            referral.referrer_id,
            program.advocate_currency,
            program.advocate_amount,
            now,
            reason="referral reward",
            details=details,
        )
    await uow.referrals.settle(referral.id, "rewarded", now, entry_id=entry.id)
    return True
