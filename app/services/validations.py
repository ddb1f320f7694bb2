"""Validate: what codes and automatic promotions would do to a cart, with a reason for every
verdict. Takes nothing; it writes only failed guesses, the refused codes of a customer (for
support), and the release of holds past their end that still hold what it was refused for
(services/lapses.py)."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from app.db.errors import DatabaseUnavailableError
from app.db.repositories.checkout_reads import Candidates, Guessers
from app.db.uow import StatementUnitOfWork, UnitOfWork
from app.domain.api_keys import ApiKey, Scope
from app.domain.cart import Cart
from app.domain.codes import is_well_formed, normalise
from app.domain.context import EvaluationContext
from app.domain.engine import Evaluation, evaluate
from app.domain.guesses import address_subject, customer_subject, failed_guesses
from app.domain.rules import Promotion
from app.domain.verdicts import VerdictSource, refused_codes
from app.services.api_keys import check_access, hash_key
from app.services.checkout_results import Validation, validation_of
from app.services.guesses import count_failed_guesses, guess_subjects, refuse_if_blocked
from app.services.lapses import held_back, release_held_back
from app.settings import GuessSettings


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A cart, the codes typed for it and the facts about the buyer: the input of validate and
    redeem."""

    cart: Cart
    codes: tuple[str, ...]
    customer_id: str | None = None
    segments: frozenset[str] = field(default_factory=frozenset)
    is_first_order: bool | None = None
    market: str | None = None
    locale: str | None = None
    client_ip: str | None = None
    """The shopper's IP address as the checkout saw it: failed guesses are counted by it."""
    email_key: str | None = None
    """domain/referrals.email_key of the customer's e-mail, when sent."""

    def evaluate_with(
        self,
        by_code: dict[str, Promotion],
        automatic: list[Promotion],
        now: datetime,
        max_discounts: int,
    ) -> Evaluation:
        """The engine's verdict on this request, given its candidates as loaded at now."""
        return evaluate(
            self.cart,
            self.codes,
            by_code,
            self.context(now),
            automatic=automatic,
            max_discounts=max_discounts,
        )

    def context(self, now: datetime) -> EvaluationContext:
        return EvaluationContext(
            now=now,
            customer_id=self.customer_id,
            segments=self.segments,
            is_first_order=self.is_first_order,
            market=self.market,
            locale=self.locale,
            email_key=self.email_key,
        )


def lookup_keys(request: CheckoutRequest) -> list[str]:
    """The normalised texts worth looking up: a malformed code cannot exist."""
    return sorted({key for key in map(normalise, request.codes) if is_well_formed(key)})


async def evaluate_request(
    uow: UnitOfWork, request: CheckoutRequest, now: datetime, max_discounts: int
) -> Evaluation:
    """Load the requested codes and the live automatic promotions (one query) and run the
    engine, inside the caller's unit of work."""
    by_code, automatic = await uow.codes.load_candidates(
        lookup_keys(request), request.customer_id, request.cart.currency, now
    )
    return request.evaluate_with(by_code, automatic, now, max_discounts)


async def validate_codes(
    reads: StatementUnitOfWork,
    raw_key: str,
    request: CheckoutRequest,
    now: datetime,
    max_discounts: int,
    guesses: GuessSettings,
    replica: StatementUnitOfWork | None = None,
) -> Validation:
    """The verdict on every code and automatic promotion and the resulting totals, as the
    response body, for a caller holding the checkout scope. One round trip: the key and
    whether the customer or the client address is blocked from trying codes are read by the
    same statement that loads the promotions. It takes nothing; it writes only failed guesses
    and, for a customer, the codes refused (one more statement), and releases holds past their
    end that hold what it was refused for (then reads again).

    With a replica, the promotions are read there, and the key and the block on the primary
    at the same time (two round trips at once): a revoked key or a blocked guesser is refused
    at once, and only promotions, codes and their counts may lag the primary by a moment (a
    redeem just made may not count yet), which a verdict may, since redeem decides again on
    the primary. Whatever validate writes it decides on the primary's data: a verdict that
    would count a failed guess, log a refusal or release holds is read again there first. So
    is everything when the replica fails or does not know the key yet."""
    guessers = Guessers(
        customer=customer_subject(request.customer_id), address=address_subject(request.client_ip)
    )

    async def load(source: StatementUnitOfWork) -> Candidates:
        async with source:
            return await source.checkout.load_candidates(
                hash_key(raw_key),
                lookup_keys(request),
                request.customer_id,
                request.cart.currency,
                guessers,
                now,
            )

    async def guard(source: StatementUnitOfWork) -> tuple[ApiKey | None, datetime | None]:
        async with source:
            return await source.checkout.key_and_block(hash_key(raw_key), guessers, now)

    def evaluate_found(found: Candidates) -> tuple[ApiKey, Evaluation]:
        key = check_access(found.key, Scope.CHECKOUT)
        if request.codes:
            refuse_if_blocked(found.blocked_until, now)
        return key, request.evaluate_with(found.by_code, found.automatic, now, max_discounts)

    if replica is None:
        found = await load(reads)
    else:
        found = await _read_replica(reads, replica, load, guard)
    key, evaluation = evaluate_found(found)
    if replica is not None and (
        any(held_back(evaluation))
        or failed_guesses(evaluation)
        or refused_codes(evaluation, request.customer_id, VerdictSource.VALIDATE, now)
    ):
        key, evaluation = evaluate_found(await load(reads))
    if any(held_back(evaluation)):
        # Holds past their end that hold what was refused for capacity give it back (the
        # only write validate makes besides failed guesses); then read again.
        async with reads:
            again = await release_held_back(reads, evaluation, now)
        if again:
            key, evaluation = evaluate_found(await load(reads))
    failures = failed_guesses(evaluation)
    refused = refused_codes(evaluation, request.customer_id, VerdictSource.VALIDATE, now)
    if failures or refused:
        async with reads:
            if failures:
                counted = guess_subjects(key.id, request.customer_id, request.client_ip, guesses)
                await count_failed_guesses(
                    reads.checkout.record_failed_guesses, key.id, counted, failures, now, guesses
                )
            await reads.writes.record_verdicts(refused, key.id)
    return validation_of(evaluation, request.customer_id, request.locale)


async def _read_replica(
    primary: StatementUnitOfWork,
    replica: StatementUnitOfWork,
    load: Callable[[StatementUnitOfWork], Awaitable[Candidates]],
    guard: Callable[[StatementUnitOfWork], Awaitable[tuple[ApiKey | None, datetime | None]]],
) -> Candidates:
    """The candidates from the replica with the key and the block from the primary, read at
    once; everything from the primary when the replica fails or does not know the key yet."""

    async def from_replica() -> Candidates | None:
        try:
            return await load(replica)
        except DatabaseUnavailableError:
            return None

    (key, blocked_until), candidates = await asyncio.gather(guard(primary), from_replica())
    if candidates is None or (key is not None and candidates.key is None):
        return await load(primary)
    return replace(candidates, key=key, blocked_until=blocked_until)
