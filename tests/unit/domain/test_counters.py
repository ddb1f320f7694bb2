import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.counters import COUNTER_SLOTS, split_limit


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
