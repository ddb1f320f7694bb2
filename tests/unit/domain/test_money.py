from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import allocate, exponent, format_amount, is_known_currency, percent_of


class TestExponents:
    def test_currencies_use_their_own_minor_unit(self) -> None:
        assert (exponent("JPY"), exponent("EUR"), exponent("KWD")) == (0, 2, 3)

    def test_unknown_and_lower_case_codes_are_not_currencies(self) -> None:
        assert not is_known_currency("XXX")
        assert not is_known_currency("eur")

    def test_format_follows_the_exponent(self) -> None:
        assert format_amount(450, "EUR") == "4.50 EUR"
        assert format_amount(1200, "JPY") == "1200 JPY"
        assert format_amount(1005, "KWD") == "1.005 KWD"
        assert format_amount(-5, "EUR") == "-0.05 EUR"


class TestPercentOf:
    def test_rounds_half_up(self) -> None:
        # 15 % of 1.03 = 0.1545 -> 0.15; 15 % of 1.10 = 0.165 -> 0.17 (half goes up)
        assert percent_of(103, 1500) == 15
        assert percent_of(110, 1500) == 17
        assert percent_of(1, 5000) == 1
        assert percent_of(1, 4999) == 0

    @given(st.integers(0, 10**15), st.integers(0, 10_000))
    def test_is_the_nearest_integer_with_halves_up(self, amount: int, bps: int) -> None:
        result = percent_of(amount, bps)
        exact_times_2 = 2 * amount * bps  # 2 * 10_000 * exact
        assert 2 * 10_000 * result - 10_000 <= exact_times_2 < 2 * 10_000 * result + 10_000
        assert 0 <= result <= amount


weights = st.lists(st.integers(0, 10**9), min_size=1, max_size=60)
# Small weights repeat, so remainders tie and the tie-break decides.
tied_weights = st.lists(st.integers(0, 6), min_size=1, max_size=12)


def largest_remainder(total: int, ws: list[int]) -> list[int]:
    """The rule written plainly: floors, then one more unit to each of the largest remainders,
    ties to the earlier index."""
    weight_sum = sum(ws)
    floors = [total * w // weight_sum for w in ws]
    order = sorted(range(len(ws)), key=lambda i: (-(total * ws[i] % weight_sum), i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


class TestAllocate:
    def test_remainder_goes_to_largest_remainders_then_earlier_lines(self) -> None:
        assert allocate(100, [1, 1, 1]) == [34, 33, 33]
        assert allocate(10, [3, 3, 4]) == [3, 3, 4]
        assert allocate(5, [0, 10, 0]) == [0, 5, 0]
        assert allocate(0, [5, 5]) == [0, 0]

    @given(weights, st.data())
    def test_parts_sum_to_total_and_never_exceed_their_weight(
        self, ws: list[int], data: st.DataObject
    ) -> None:
        total = data.draw(st.integers(0, sum(ws)))
        parts = allocate(total, ws)
        assert sum(parts) == total
        assert all(0 <= part <= w for part, w in zip(parts, ws, strict=True))

    @given(weights, st.data())
    def test_each_part_is_within_one_unit_of_its_exact_share(
        self, ws: list[int], data: st.DataObject
    ) -> None:
        total = data.draw(st.integers(0, sum(ws)))
        if sum(ws) == 0:
            return
        for part, w in zip(allocate(total, ws), ws, strict=True):
            exact_numerator = total * w  # exact share = exact_numerator / sum(ws)
            assert abs(part * sum(ws) - exact_numerator) < sum(ws)

    @given(st.one_of(weights, tied_weights), st.data())
    def test_is_the_plain_largest_remainder_rule(self, ws: list[int], data: st.DataObject) -> None:
        total = data.draw(st.integers(0, sum(ws)))
        if sum(ws) == 0:
            return
        assert allocate(total, ws) == largest_remainder(total, ws)
