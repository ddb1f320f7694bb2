"""The registry of effect and condition kinds, and the one codec for them.

A kind is defined once, as a frozen dataclass in benefits.py (effects) or conditions.py
(conditions on the cart) and listed in its union (`Effect`, `CartCondition`). Its stored JSON
and its API shape are its fields by name, so the codec here is derived from the dataclass: a
new kind needs no encoder, decoder or mapping anywhere else. tests/unit/domain/test_kinds.py
round-trips every kind through this codec and through its API model, and fails for a kind
without a name, a stage or an API model.

Values map to JSON as: Mapping -> object, frozenset -> sorted list, tuple -> list, enum -> its
value, a nested dataclass (Target, UnitCap, Tier) -> object; a field missing from stored JSON
takes its default, so adding a field with a default needs no data migration.
"""

import dataclasses
import types
import typing
from collections.abc import Mapping
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

from app.domain.benefits import Effect
from app.domain.conditions import CartCondition

T = TypeVar("T")

EFFECT_KINDS: Mapping[str, type[Effect]] = {cls.kind: cls for cls in get_args(Effect)}
CONDITION_KINDS: Mapping[str, type[CartCondition]] = {
    cls.kind: cls for cls in get_args(CartCondition)
}


def encode(value: object) -> Any:
    """A domain value as JSON data (dataclasses by field name; see the module's docstring)."""
    if isinstance(value, Enum):  # before str: a StrEnum is one
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Mapping):
        return {key: encode(item) for key, item in value.items()}
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple | list):
        return [encode(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = getattr(type(value), "kind", None)
        data = {} if kind is None else {"type": kind}
        for item in dataclasses.fields(value):
            data[item.name] = encode(getattr(value, item.name))
        return data
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode_effect(data: Mapping[str, Any]) -> Effect:
    kind = data["type"]
    if kind not in EFFECT_KINDS:
        raise ValueError(f"unknown effect type {kind!r}")
    return decode(EFFECT_KINDS[kind], data)


def decode_condition(data: Mapping[str, Any]) -> CartCondition:
    kind = data["type"]
    if kind not in CONDITION_KINDS:
        raise ValueError(f"unknown condition type {kind!r}")
    return decode(CONDITION_KINDS[kind], data)


def decode(cls: type[T], data: Mapping[str, Any]) -> T:
    """A dataclass from its JSON data; fields missing from data take their defaults."""
    key: object = cls
    hints = _hints(key)
    values = {
        name: _decode_value(hints[name], data[name]) for name in _field_names(key) if name in data
    }
    return cls(**values)


@cache
def _field_names(cls: object) -> tuple[str, ...]:
    assert isinstance(cls, type)
    return tuple(item.name for item in dataclasses.fields(cls))


@cache
def _hints(cls: object) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode_value(hint: Any, value: Any) -> Any:
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in get_args(hint) if arg is not type(None)]
        if value is None:
            return None
        if len(options) > 1:  # a union of kinds: the one its "type" names
            [option] = [o for o in options if getattr(o, "kind", None) == value["type"]]
        else:
            [option] = options
        return _decode_value(option, value)
    if origin is frozenset:
        return frozenset(value)
    if origin is tuple:
        (item, _) = get_args(hint)
        return tuple(_decode_value(item, element) for element in value)
    if origin is Mapping or origin is dict:
        _, item = get_args(hint)
        return {key: _decode_value(item, element) for key, element in value.items()}
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode(hint, value)
    return value
