"""Failed code guesses: which verdicts count as one, and whose allowance they use.

The threat: someone at a shop's checkout trying codes until one works. The shop's backend holds
the API key and calls Tessera for every shopper, so the key is not the attacker and must never
be what gets blocked: one attacker would switch coupons off for every shopper. Guesses are
bounded where the attacker is, by the customer they claim to be and by the address they come
from (the checkout passes the shopper's IP); rotating customer ids still meets the address's
allowance. Requests that name no address share one allowance per key, the best that can be
done without one. The key's own count only raises an alarm.
"""

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.domain.engine import Evaluation
from app.domain.reasons import Reason

# A code that does not exist, or one that exists for somebody else: what someone trying
# codes at random gets.
GUESS_REASONS = frozenset({Reason.NOT_FOUND, Reason.CUSTOMER_MISMATCH})

# One IPv6 subscriber gets a /64 (RFC 6177): its 2^64 addresses are one shopper's.
_IPV6_SUBSCRIBER_PREFIX = 64


def failed_guesses(evaluation: Evaluation) -> int:
    return sum(
        1
        for verdict in evaluation.verdicts
        if verdict.refusal is not None and verdict.refusal.reason in GUESS_REASONS
    )


@dataclass(frozen=True, slots=True)
class GuessLimits:
    """Failed guesses allowed per window: per customer, per client address, per key for
    requests that name no address; and the key-wide count that raises an alarm."""

    per_customer: int
    per_address: int
    per_key_unaddressed: int
    key_alarm: int


@dataclass(frozen=True, slots=True)
class Subject:
    """A counter a failed guess adds to. Past its threshold, a blocking subject's requests
    with codes are refused until the window ends; a non-blocking one only raises an alarm."""

    name: str
    threshold: int
    blocks: bool


def address_of(client_ip: str) -> str:
    """The shopper behind an IP address: the address itself for IPv4 (and IPv4 mapped into
    IPv6), its /64 network for IPv6. client_ip must be a valid address."""
    address = ipaddress.ip_address(client_ip)
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Network((address, _IPV6_SUBSCRIBER_PREFIX), strict=False)
        return str(network)
    return str(address)


def address_subject(client_ip: str | None) -> str | None:
    """The counter name of a client address, None when the request names none."""
    return None if client_ip is None else f"address:{address_of(client_ip)}"


def customer_subject(customer_id: str | None) -> str | None:
    return None if customer_id is None else f"customer:{customer_id}"


UNADDRESSED_PREFIX = "unaddressed:"


def unaddressed_subject(key_id: UUID) -> str:
    """The allowance shared by a key's requests that name no client address."""
    return f"{UNADDRESSED_PREFIX}{key_id}"


def subjects(
    key_id: UUID, customer_id: str | None, client_ip: str | None, limits: GuessLimits
) -> list[Subject]:
    """The counters one failed guess adds to: the customer's when named, the address's (or
    the key's shared one for requests without an address), and the key's alarm."""
    counted = []
    customer = customer_subject(customer_id)
    if customer is not None:
        counted.append(Subject(customer, limits.per_customer, blocks=True))
    address = address_subject(client_ip)
    if address is not None:
        counted.append(Subject(address, limits.per_address, blocks=True))
    else:
        counted.append(
            Subject(unaddressed_subject(key_id), limits.per_key_unaddressed, blocks=True)
        )
    counted.append(Subject(f"key:{key_id}", limits.key_alarm, blocks=False))
    return counted


def is_unaddressed(counted: Sequence[Subject]) -> bool:
    """True when the request named no client address (its key's shared allowance counts)."""
    return any(subject.name.startswith(UNADDRESSED_PREFIX) for subject in counted)


def blocking(counted: Sequence[Subject]) -> list[str]:
    """The names whose blocks refuse a request."""
    return [subject.name for subject in counted if subject.blocks]


@dataclass(frozen=True, slots=True)
class Tally:
    """A subject's failed guesses in its window after a request's were added, and until when
    it is over its threshold (None: it is not)."""

    failures: int
    blocked_until: datetime | None


def crossed(failures: int, added: int, threshold: int) -> bool:
    """True when adding `added` failures took a count to or past its threshold."""
    return failures >= threshold > failures - added


def spent_before(
    counted: Sequence[Subject], tallies: Mapping[str, Tally], added: int
) -> datetime | None:
    """Until when the request must be refused because a blocking subject's allowance was used
    up before its failures were added: by requests that ran at the same time and passed the
    block check first. Such a request is refused rather than answered, so that concurrency
    cannot stretch an allowance. None when none was."""
    for subject in counted:
        tally = tallies.get(subject.name)
        if subject.blocks and tally is not None and tally.failures - added >= subject.threshold:
            return tally.blocked_until
    return None
