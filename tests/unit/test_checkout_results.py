"""A redemption's stored result is its answer less its state (checkout_writes derives one from
the other), so the two lists of fields must say the same."""

from dataclasses import fields

from app.services.checkout_results import (
    REDEMPTION_STATE,
    Redemption,
    Settlement,
    Validation,
)


def names(cls: type) -> set[str]:
    return {field.name for field in fields(cls)}


def test_a_redemption_is_its_kept_result_and_its_state() -> None:
    kept = names(Validation) | names(Settlement) | {"amount_due"}
    assert names(Redemption) - set(REDEMPTION_STATE) == kept
    assert set(REDEMPTION_STATE) <= names(Redemption)
    assert not set(REDEMPTION_STATE) & kept
