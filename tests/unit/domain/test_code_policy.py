"""What a redeem does with requested codes that do not apply (domain/stacking.CodePolicy)."""

import pytest

from app.domain.reasons import Reason
from app.domain.stacking import STACKING_REASONS, CodePolicy

ALL, STACKED, ANY = CodePolicy.ALL_OR_NOTHING, CodePolicy.SKIP_STACKED, CodePolicy.SKIP_REFUSED


@pytest.mark.parametrize(
    ("reasons", "redeems"),
    [
        ([], {ALL, STACKED, ANY}),  # automatic promotions only
        ([None], {ALL, STACKED, ANY}),
        ([None, None], {ALL, STACKED, ANY}),
        ([None, Reason.NOTHING_TO_DISCOUNT], {STACKED, ANY}),
        ([Reason.NOT_COMBINABLE, None], {STACKED, ANY}),
        ([None, Reason.MAX_DISCOUNTS_REACHED, Reason.NOTHING_TO_DISCOUNT], {STACKED, ANY}),
        ([None, Reason.LIMIT_REACHED], {ANY}),
        ([None, Reason.NOT_FOUND, Reason.NOTHING_TO_DISCOUNT], {ANY}),
        ([None, Reason.DUPLICATE_CODE], {ANY}),
        # Nothing asked for applies: refused whatever the policy.
        ([Reason.NOTHING_TO_DISCOUNT], set()),
        ([Reason.NOT_COMBINABLE, Reason.EXPIRED], set()),
    ],
)
def test_which_policies_redeem(reasons: list[Reason | None], redeems: set[CodePolicy]) -> None:
    assert {policy for policy in CodePolicy if policy.redeems(reasons)} == redeems


def test_the_stacking_reasons_are_the_four_that_depend_on_the_other_codes() -> None:
    assert {reason.value for reason in STACKING_REASONS} == {
        "nothing_to_discount",
        "not_combinable",
        "max_discounts_reached",
        "better_offer_applied",
    }
