from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.jobs import JobKind, Periodic, retry_after

EVERY_30_S = Periodic("lapse_holds", JobKind.LAPSE_HOLDS, timedelta(seconds=30))
HOURLY = Periodic("purge", JobKind.PURGE, timedelta(hours=1))


class TestRetryAfter:
    def test_doubles_from_ten_seconds_up_to_an_hour(self) -> None:
        waits = [retry_after(attempts, 100) for attempts in (1, 2, 3, 9, 10, 99)]
        assert waits == [
            timedelta(seconds=10),
            timedelta(seconds=20),
            timedelta(seconds=40),
            timedelta(seconds=2560),
            timedelta(hours=1),
            timedelta(hours=1),
        ]

    def test_none_once_the_attempts_are_used(self) -> None:
        assert retry_after(4, 5) == timedelta(seconds=80)
        assert retry_after(5, 5) is None
        assert retry_after(6, 5) is None


class TestPeriodic:
    def test_the_slot_is_now_floored_to_the_interval(self) -> None:
        now = datetime(2030, 1, 1, 10, 17, 45, 500_000, tzinfo=UTC)
        assert EVERY_30_S.slot(now) == datetime(2030, 1, 1, 10, 17, 30, tzinfo=UTC)
        assert HOURLY.slot(now) == datetime(2030, 1, 1, 10, tzinfo=UTC)
        assert HOURLY.dedupe_key(now) == "purge:2030-01-01T10:00:00+00:00"

    # Hypothesis bounds are naive; the drawn instants are UTC. Far from datetime.max, so
    # that the next slot exists.
    @given(
        st.datetimes(
            max_value=datetime(9000, 1, 1),  # noqa: DTZ001
            timezones=st.just(UTC),
        )
    )
    def test_every_instant_of_a_slot_has_its_key_and_the_next_slot_another(
        self, now: datetime
    ) -> None:
        slot = EVERY_30_S.slot(now)
        assert slot <= now < slot + EVERY_30_S.every
        assert EVERY_30_S.dedupe_key(slot) == EVERY_30_S.dedupe_key(now)
        assert EVERY_30_S.slot(slot + EVERY_30_S.every) == slot + EVERY_30_S.every
