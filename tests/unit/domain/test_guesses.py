from datetime import UTC, datetime
from uuid import uuid4

import pytest

from app.domain.guesses import (
    GuessLimits,
    Tally,
    address_of,
    blocking,
    crossed,
    spent_before,
    subjects,
)

LIMITS = GuessLimits(per_customer=10, per_address=50, per_key_unaddressed=1000, key_alarm=1000)


class TestAddresses:
    @pytest.mark.parametrize(
        ("ip", "shopper"),
        [
            ("203.0.113.7", "203.0.113.7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
            ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
            ("2001:DB8:1:2::1", "2001:db8:1:2::/64"),
        ],
    )
    def test_an_address_names_its_shopper(self, ip: str, shopper: str) -> None:
        assert address_of(ip) == shopper


class TestSubjects:
    def test_customer_and_address_block_the_key_only_raises_an_alarm(self) -> None:
        key = uuid4()
        counted = subjects(key, "cus_1", "203.0.113.7", LIMITS)
        assert [(s.name, s.threshold, s.blocks) for s in counted] == [
            ("customer:cus_1", 10, True),
            ("address:203.0.113.7", 50, True),
            (f"key:{key}", 1000, False),
        ]
        assert blocking(counted) == ["customer:cus_1", "address:203.0.113.7"]

    def test_without_an_address_the_keys_requests_share_one(self) -> None:
        key = uuid4()
        assert blocking(subjects(key, None, None, LIMITS)) == [f"unaddressed:{key}"]

    @pytest.mark.parametrize(
        ("failures", "added", "threshold", "expected"),
        [(9, 1, 10, False), (10, 1, 10, True), (12, 5, 10, True), (11, 1, 10, False)],
    )
    def test_crossing_is_reported_once(
        self, failures: int, added: int, threshold: int, expected: bool
    ) -> None:
        assert crossed(failures, added, threshold) is expected


class TestConcurrentSpending:
    def test_a_request_is_refused_when_the_allowance_was_spent_before_its_failures(
        self,
    ) -> None:
        until = datetime(2026, 12, 1, 12, 10, tzinfo=UTC)
        counted = subjects(uuid4(), "cus_1", None, LIMITS)
        customer = counted[0].name
        # Its 3 failures took the customer from 8 to 11: it crossed, it is answered.
        assert spent_before(counted, {customer: Tally(11, until)}, 3) is None
        # 10 were there before its 3: a concurrent request spent the allowance first.
        assert spent_before(counted, {customer: Tally(13, until)}, 3) == until
        # The key's alarm never refuses.
        alarm = counted[-1].name
        assert spent_before(counted, {alarm: Tally(5000, until)}, 1) is None
