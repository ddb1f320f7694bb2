"""Pool codes' ids: UUIDv7s that sort in the order they were written."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.pools import time_ordered_ids

AT = datetime(2026, 12, 1, 16, 59, 10, 123456, tzinfo=UTC)


def test_ids_are_uuid7_with_their_millisecond_first() -> None:
    ids = time_ordered_ids(1000, AT)
    assert len(set(ids)) == 1000
    for code_id in ids:
        assert code_id.version == 7
        assert code_id.variant == "specified in RFC 4122"
        assert code_id.int >> 80 == int(AT.timestamp() * 1000)


@given(st.integers(min_value=1, max_value=300), st.integers(min_value=1, max_value=10**6))
def test_a_batch_sorts_in_its_order_and_after_earlier_milliseconds(
    count: int, later_ms: int
) -> None:
    first = time_ordered_ids(count, AT)
    assert first == sorted(first)
    later = time_ordered_ids(count, AT + timedelta(milliseconds=later_ms))
    assert max(first) < min(later)
