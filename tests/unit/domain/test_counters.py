import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.counters import COUNTER_SLOTS, respread, split_limit


class TestSplitLimit:
    @given(limit=st.integers(1, 10**9), slots=st.integers(1, 64))
    def test_shares_add_up_to_the_limit_and_none_is_empty(self, limit: int, slots: int) -> None:
        shares = split_limit(limit, slots)
        assert sum(s for s in shares if s is not None) == limit
        assert len(shares) == min(limit, slots)
        assert all(s is not None and s >= 1 for s in shares)
        assert (
            max(s for s in shares if s is not None) - min(s for s in shares if s is not None) <= 1
        )

    def test_examples(self) -> None:
        assert split_limit(1) == (1,)
        assert split_limit(3, 16) == (1, 1, 1)
        assert split_limit(50, 16) == (4, 4) + (3,) * 14
        assert split_limit(500, 16) == (32, 32, 32, 32) + (31,) * 12

    def test_unlimited_codes_get_unlimited_rows(self) -> None:
        assert split_limit(None) == (None,) * COUNTER_SLOTS

    @pytest.mark.parametrize("limit", [0, -1])
    def test_a_limit_must_be_positive(self, limit: int) -> None:
        with pytest.raises(ValueError, match="positive"):
            split_limit(limit)


class TestRespread:
    @given(
        used=st.lists(st.integers(0, 1000), min_size=1, max_size=40),
        room=st.integers(0, 10**6),
        slots=st.integers(1, 64),
    )
    def test_rows_keep_what_they_took_and_add_up_to_the_new_limit(
        self, used: list[int], room: int, slots: int
    ) -> None:
        limit = sum(used) + room
        if limit == 0:
            return
        capacities = respread(used, limit, slots)
        assert sum(c for c in capacities if c is not None) == limit
        assert len(capacities) >= len(used)
        assert len(capacities) >= min(slots, limit)
        taken = [*used, *([0] * (len(capacities) - len(used)))]
        assert all(c is not None and c >= took for c, took in zip(capacities, taken, strict=True))
        rooms = [c - took for c, took in zip(capacities, taken, strict=True) if c is not None]
        assert max(rooms) - min(rooms) <= 1

    def test_a_fresh_code_is_spread_as_when_it_was_made(self) -> None:
        for limit in (1, 3, 50, 500, 10_000):
            assert respread([0] * len(split_limit(limit)), limit) == split_limit(limit)

    def test_examples(self) -> None:
        # 500 over 16 rows, 100 used from the first; the limit falls to 120: 20 rooms left.
        assert respread([100] + [0] * 15, 120, 16) == (102, 2, 2, 2) + (1,) * 12
        # Unlimited rows become limited: two rows took 5 each, 3 more uses in all.
        assert respread([5, 5, 0, 0], 13, 4) == (6, 6, 1, 0)
        # A small limit raised: the code gets the rows a crowd needs.
        assert respread([1, 1], 64, 32) == (3, 3) + (2,) * 28 + (1, 1)
        assert respread([2, 0, 1], None, 4) == (None,) * 4

    def test_a_limit_below_what_was_taken_is_refused(self) -> None:
        with pytest.raises(ValueError, match="below the 7 uses"):
            respread([3, 4], 6)
