"""The registry of kinds: every effect and condition kind is complete (a name, a stage, an API
model with its fields, a strategy for the properties) and survives the stored and the API
shape unchanged."""

import dataclasses
from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.schemas.rules import (
    CartConditionModel,
    ConditionsSpec,
    EffectModel,
    effect_of,
    effect_to_domain,
)
from app.db.mappers import rules_from_json, rules_to_json
from app.domain.benefits import CalculationBase, Effect, Stage
from app.domain.conditions import Conditions
from app.domain.engine import message_for
from app.domain.kinds import CONDITION_KINDS, EFFECT_KINDS, decode_condition, decode_effect, encode
from app.domain.money import Rounding
from app.domain.reasons import Reason
from app.domain.rules import Rules
from tests.unit.domain.kind_strategies import CONDITIONS, EFFECTS, cart_conditions, effects

API_EFFECTS = {
    model.model_fields["type"].annotation.__args__[0]: model for model in get_args(EffectModel)
}
API_CONDITIONS = {
    model.model_fields["type"].annotation.__args__[0]: model
    for model in get_args(CartConditionModel)
}


def _names(cls: type) -> set[str]:
    return {item.name for item in dataclasses.fields(cls)}


@pytest.mark.parametrize("kind", sorted(EFFECT_KINDS))
def test_every_effect_kind_is_complete(kind: str) -> None:
    cls = EFFECT_KINDS[kind]
    assert isinstance(cls.stage, Stage), f"{kind} has no stage"
    assert kind in API_EFFECTS, f"{kind} has no API model in api/schemas/rules.py"
    assert set(API_EFFECTS[kind].model_fields) == _names(cls) | {"type"}
    assert kind in EFFECTS, f"{kind} has no strategy in kind_strategies.py"
    for reason in cls.reasons:
        assert message_for(reason)


@pytest.mark.parametrize("kind", sorted(CONDITION_KINDS))
def test_every_condition_kind_is_complete(kind: str) -> None:
    cls = CONDITION_KINDS[kind]
    assert kind in API_CONDITIONS, f"{kind} has no API model in api/schemas/rules.py"
    assert set(API_CONDITIONS[kind].model_fields) == _names(cls) | {"type"}
    assert kind in CONDITIONS, f"{kind} has no strategy in kind_strategies.py"
    for reason in cls.reasons:
        assert message_for(reason)


def test_no_model_or_strategy_without_a_kind() -> None:
    assert set(API_EFFECTS) == set(EFFECT_KINDS) == set(EFFECTS)
    assert set(API_CONDITIONS) == set(CONDITION_KINDS) == set(CONDITIONS)
    assert set(EFFECT_KINDS) == {cls.kind for cls in get_args(Effect)}


@given(effects)
def test_an_effect_survives_storage_and_the_api(effect: Effect) -> None:
    assert decode_effect(encode(effect)) == effect
    assert effect_to_domain(effect_of(effect)) == effect


@given(st.lists(cart_conditions, max_size=3))
def test_cart_conditions_survive_storage_and_the_api(conditions: list[object]) -> None:
    value = Conditions(cart=tuple(conditions))  # type: ignore[arg-type]
    assert tuple(decode_condition(encode(c)) for c in value.cart) == value.cart
    assert ConditionsSpec.of(value).to_domain() == value


@given(
    st.lists(effects, min_size=1, max_size=3),
    st.lists(cart_conditions, max_size=2),
    st.sampled_from(list(Rounding)),
    st.sampled_from(list(CalculationBase)),
)
def test_rules_survive_storage(
    chosen: list[Effect], conditions: list[object], rounding: Rounding, base: CalculationBase
) -> None:
    rules = Rules(
        effects=tuple(chosen),
        conditions=Conditions(cart=tuple(conditions)),  # type: ignore[arg-type]
        rounding=rounding,
        base=base,
    )
    assert rules_from_json(rules_to_json(rules)) == rules


def test_stored_json_without_the_new_fields_reads_as_before() -> None:
    """Rows written before a field existed read with its default."""
    rules = rules_from_json(
        {
            "effects": [
                {
                    "type": "buy_x_get_y",
                    "buy_quantity": 2,
                    "get_quantity": 1,
                    "basis_points": 10_000,
                },
                {"type": "amount_off_each", "amounts": {"EUR": 100}},
            ],
            "target": {},
            "conditions": {},
        }
    )
    assert rules.rounding is Rounding.HALF_UP
    assert rules.base is CalculationBase.STANDARD
    assert rules.conditions.cart == ()


def test_every_reason_has_a_message() -> None:
    for reason in Reason:
        assert message_for(reason)
