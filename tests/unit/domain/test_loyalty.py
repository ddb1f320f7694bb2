"""Earning (rate, multiplier, rounding) and tiers."""

from hypothesis import given
from hypothesis import strategies as st

from app.domain.loyalty import EarnRate, Tier, points_for, standing, tiers_problem

TWO_PER_UNIT = EarnRate(points=2, per_amount=100)
TIERS = (
    Tier(key="member", label="Member", threshold=0, multiplier_percent=100),
    Tier(key="silver", label="Silver", threshold=1_000, multiplier_percent=150),
    Tier(key="gold", label="Gold", threshold=5_000, multiplier_percent=300),
)


class TestEarning:
    def test_two_points_per_unit_rounded_down(self) -> None:
        assert points_for(4_599, TWO_PER_UNIT) == 91
        assert points_for(100, TWO_PER_UNIT) == 2
        assert points_for(49, TWO_PER_UNIT) == 0
        assert points_for(0, TWO_PER_UNIT) == 0

    def test_the_top_tier_earns_three_times(self) -> None:
        assert points_for(4_599, TWO_PER_UNIT, 300) == 275
        assert points_for(4_599, TWO_PER_UNIT, 150) == 137

    @given(st.integers(0, 10**11), st.integers(100, 10_000))
    def test_never_more_than_the_exact_product(self, amount: int, multiplier: int) -> None:
        points = points_for(amount, TWO_PER_UNIT, multiplier)
        exact_times_10000 = amount * 2 * multiplier
        assert points * 10_000 <= exact_times_10000 < (points + 1) * 10_000


class TestTiers:
    def test_the_tier_changes_exactly_at_the_threshold(self) -> None:
        below = standing(TIERS, 999)
        assert below.tier is not None
        assert below.tier.key == "member"
        assert below.next_tier is not None
        assert below.next_tier.key == "silver"
        assert below.points_to_next_tier == 1
        at = standing(TIERS, 1_000)
        assert at.tier is not None
        assert at.tier.key == "silver"
        assert at.points_to_next_tier == 4_000

    def test_the_top_tier_has_no_next(self) -> None:
        top = standing(TIERS, 80_000)
        assert top.tier is not None
        assert top.tier.key == "gold"
        assert (top.next_tier, top.points_to_next_tier) == (None, None)

    def test_no_tiers_means_no_tier(self) -> None:
        assert standing((), 500).tier is None

    def test_a_ladder_must_start_at_zero_and_rise(self) -> None:
        assert tiers_problem(TIERS) is None
        assert tiers_problem(()) is None
        assert "start at 0" in (tiers_problem(TIERS[1:]) or "")
        assert "more points" in (tiers_problem((TIERS[0], TIERS[2], TIERS[1])) or "")
        assert "unique" in (tiers_problem((TIERS[0], TIERS[0])) or "")
        cheaper = Tier(key="x", label="X", threshold=9_000, multiplier_percent=100)
        assert "earns less" in (tiers_problem((*TIERS, cheaper)) or "")
