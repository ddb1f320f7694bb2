"""A redemption's stored result is its answer less its state (checkout_writes derives one from
the other), so the two lists of fields must say the same."""

from dataclasses import fields, replace

from app.domain.engine import message_for
from app.domain.reasons import Reason
from app.services.checkout_results import (
    REDEMPTION_STATE,
    CodeVerdict,
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


def test_a_redeem_that_lost_every_race_reports_the_limit_it_lost() -> None:
    code = CodeVerdict("SUMMER", True, None, "The code applies.", None, 100, None)
    validation = Validation(
        valid=True,
        currency="EUR",
        customer_id="ann",
        subtotal_amount=1000,
        discount_amount=100,
        shipping_amount=0,
        shipping_discount_amount=0,
        total_amount=900,
        cashback_amount=0,
        codes=(code, replace(code, code="OTHER")),
        applied=(),
        skipped=(),
        lines=(),
    )
    assert [c.reason for c in validation.with_limit_reached().codes] == [Reason.LIMIT_REACHED] * 2
    lost = validation.with_limit_reached(Reason.BUDGET_EXHAUSTED)
    assert not lost.valid
    assert [(c.valid, c.reason, c.message) for c in lost.codes] == [
        (False, Reason.BUDGET_EXHAUSTED, message_for(Reason.BUDGET_EXHAUSTED))
    ] * 2
