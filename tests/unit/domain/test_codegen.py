import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.codegen import (
    DEFAULT_CHARSET,
    DEFAULT_LENGTH,
    MIN_SPACE_PER_CODE,
    CodeSpecError,
    draw,
    generate,
    parse_spec,
)
from app.domain.codes import is_well_formed, normalise

charsets = st.text(
    alphabet="ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789", min_size=2, max_size=40
).filter(lambda s: len(set(s.upper())) >= 2)
patterns = st.lists(
    st.sampled_from(["#", "?", "*", "-", "X", "7", "."]), min_size=1, max_size=20
).map("".join)


class TestGenerate:
    def test_default_spec_avoids_look_alikes(self) -> None:
        codes = generate(parse_spec(), 2000)
        assert {len(c) for c in codes} == {DEFAULT_LENGTH}
        assert set("".join(codes)) <= set(DEFAULT_CHARSET)
        assert not set("".join(codes)) & set("01OIL")

    @given(charset=charsets, length=st.integers(1, 20), count=st.integers(0, 50))
    def test_codes_use_only_the_charset_and_the_length(
        self, charset: str, length: int, count: int
    ) -> None:
        codes = generate(parse_spec(charset=charset, length=length), count)
        assert len(codes) == count
        assert all(len(code) == length for code in codes)
        assert set("".join(codes)) <= set(charset.upper())

    @given(
        pattern=patterns, prefix=st.sampled_from(["", "WELCOME-", "A"]), count=st.integers(1, 20)
    )
    def test_codes_follow_the_pattern(self, pattern: str, prefix: str, count: int) -> None:
        try:
            spec = parse_spec(pattern=pattern, prefix=prefix, suffix="-Z")
        except CodeSpecError:
            return  # a pattern with no random part or a bad start is refused, tested below
        shape = "".join(
            {"#": "[2-9]", "?": "[A-HJKMNP-Z]", "*": f"[{DEFAULT_CHARSET}]"}.get(c, re.escape(c))
            for c in prefix.upper() + pattern.upper() + "-Z"
        )
        for code in generate(spec, count):
            assert re.fullmatch(shape, code), (shape, code)
            assert is_well_formed(normalise(code))

    def test_the_issue_example(self) -> None:
        spec = parse_spec(pattern="WELCOME-####-????")
        assert spec.space == 8**4 * 23**4
        for code in generate(spec, 200):
            assert re.fullmatch(r"WELCOME-[2-9]{4}-[A-HJKMNP-Z]{4}", code)

    def test_a_hundred_thousand_default_codes_are_distinct(self) -> None:
        codes = generate(parse_spec(), 100_000)
        assert len(set(codes)) == 100_000

    def test_draw_is_not_visibly_biased(self) -> None:
        # 31 does not divide 256: without rejection the first 8 characters would come up
        # 9/8 as often as the others. 310,000 draws: 10,000 expected each, sd ~ 100.
        counts = Counter(draw(DEFAULT_CHARSET, 310_000))
        assert set(counts) == set(DEFAULT_CHARSET)
        assert max(counts.values()) - min(counts.values()) < 1000


class TestSpace:
    def test_space_multiplies_the_random_positions(self) -> None:
        assert parse_spec(charset="AB", length=10).space == 2**10
        assert parse_spec(pattern="X-#?*").space == 8 * 23 * 31

    def test_too_many_codes_for_the_space_are_refused_with_the_numbers(self) -> None:
        spec = parse_spec(pattern="WELCOME-####-????")
        spec.check_count(spec.space // MIN_SPACE_PER_CODE)
        with pytest.raises(CodeSpecError) as refused:
            spec.check_count(1_000_000)
        assert str(spec.space) in str(refused.value)
        assert "1000000 codes" in str(refused.value)
        assert refused.value.field == "count"

    @given(length=st.integers(1, 12), count=st.integers(1, 10**7))
    def test_a_count_is_accepted_exactly_when_the_space_allows_it(
        self, length: int, count: int
    ) -> None:
        spec = parse_spec(length=length)
        if len(DEFAULT_CHARSET) ** length >= count * MIN_SPACE_PER_CODE:
            spec.check_count(count)
        else:
            with pytest.raises(CodeSpecError):
                spec.check_count(count)


class TestRefusedSpecs:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"charset": "A"}, "charset"),
            ({"charset": "aA"}, "charset"),
            ({"charset": "AB C"}, "charset"),
            ({"charset": "ÄÖ"}, "charset"),
            ({"pattern": "WELCOME"}, "pattern"),
            ({"pattern": "AB#?", "length": 4}, "pattern"),
            ({"pattern": "A B#"}, "pattern"),
            ({"pattern": "##", "charset": "ABC"}, "pattern"),
            ({"pattern": "??", "charset": "234"}, "pattern"),
            ({"prefix": "-X"}, "prefix"),
            ({"prefix": "A/B"}, "prefix"),
            ({"length": 0}, "length"),
            ({"length": 65}, "length"),
            ({"length": 60, "prefix": "PREFIX"}, "length"),
        ],
    )
    def test_refused(self, kwargs: dict[str, object], field: str) -> None:
        with pytest.raises(CodeSpecError) as refused:
            parse_spec(**kwargs)  # type: ignore[arg-type]
        assert refused.value.field == field
