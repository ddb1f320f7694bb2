"""Effects, targets and conditions as the API takes and shows them, and their domain values."""

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, StringConstraints, TypeAdapter

from app.api.schemas.common import (
    NOT_BLANK,
    Amount,
    BasisPoints,
    CurrencyCode,
    Limit,
    PositiveAmount,
    Quantity,
    RequestModel,
    Sku,
)
from app.domain import benefits
from app.domain.conditions import Conditions, Schedule, Target, clock_of, minute_of
from app.domain.kinds import decode, decode_condition, decode_effect, encode
from app.domain.periods import ZONES
from app.domain.rules import Rules
from app.services.errors import InvalidCampaign

Label = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NOT_BLANK)]
Labels = Annotated[list[Label], Field(max_length=500)]
MoneyMap = Annotated[
    dict[CurrencyCode, PositiveAmount],
    Field(min_length=1, max_length=200, description='Minor units per currency: {"EUR": 1000}'),
]
OptionalMoneyMap = Annotated[
    dict[CurrencyCode, PositiveAmount],
    Field(max_length=200, description="Minor units per currency; {} when not set"),
]
PriceMap = Annotated[dict[CurrencyCode, Amount], Field(max_length=200)]
CountryCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}$"), Field(description="ISO 3166-1 alpha-2")
]
LocaleTag = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", max_length=35),
    Field(description="BCP 47 tag such as fr-FR; a bare language ('fr') allows all its regions"),
]
ClockTime = Annotated[
    str,
    StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"),
    Field(description="Local time HH:MM; 24:00 is the end of the day"),
]


# The IANA names as the tzdata package (pinned in the lock) lists them, never the host's files:
# the spec and what is accepted are then the same everywhere. Not an enum in the spec: client
# generators choke on 598 names (Etc/GMT+1 and Etc/GMT-1 make the same identifier).
_ZONES = ZONES


def _known_zone(name: str) -> str:
    if name not in _ZONES:
        raise ValueError(f"'{name}' is not an IANA time zone")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"'{name}' is not an IANA time zone") from exc
    return name


# A name that may be a time zone; whether it is one is a business rule (campaigns refuse an
# unknown one as invalid_campaign), not the request's shape.
ZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$"),
    Field(
        description="An IANA time zone name, as listed by the tz database (tzdata); another "
        "name is refused as `invalid_campaign`",
        examples=["Europe/Paris"],
    ),
]
TimeZoneName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+/-]*$"),
    AfterValidator(_known_zone),
    Field(
        description="An IANA time zone name, as listed by the tz database (tzdata)",
        examples=["Europe/Paris"],
    ),
]


class TargetSpec(RequestModel):
    """Which lines: all when skus and categories are empty; exclusions always win."""

    skus: Labels = Field(default_factory=list)
    categories: Labels = Field(default_factory=list)
    exclude_skus: Labels = Field(default_factory=list)
    exclude_categories: Labels = Field(default_factory=list)

    def to_domain(self) -> Target:
        return decode(Target, self.model_dump())

    @classmethod
    def of(cls, target: Target) -> "TargetSpec":
        return cls.model_validate(encode(target))


class ScheduleSpec(RequestModel):
    """Days (1 = Monday) and a daily window [start_time, end_time) in the zone; an end not
    after the start runs overnight."""

    timezone: TimeZoneName
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list, max_length=7)
    start_time: ClockTime = "00:00"
    end_time: ClockTime = "24:00"


class CartContainsCondition(RequestModel):
    """The cart holds items matching `items`, whatever the promotion discounts: at least
    min_quantity units (1 when neither minimum is set) worth at least min_subtotal_amounts."""

    type: Literal["cart_contains"]
    items: TargetSpec
    min_quantity: Quantity | None = None
    min_subtotal_amounts: OptionalMoneyMap = Field(default_factory=dict)


class ShippingMethodCondition(RequestModel):
    """The cart's chosen shipping method is one of these."""

    type: Literal["shipping_method"]
    methods: Annotated[list[Label], Field(min_length=1, max_length=100)]


CartConditionModel = CartContainsCondition | ShippingMethodCondition
CartConditionSpec = Annotated[CartConditionModel, Field(discriminator="type")]
_CART_CONDITION: TypeAdapter[CartConditionModel] = TypeAdapter(CartConditionSpec)


class ConditionsSpec(RequestModel):
    min_subtotal_amounts: OptionalMoneyMap = Field(
        default_factory=dict, description="Minimum of the eligible items, per currency"
    )
    min_quantity: Quantity | None = Field(default=None, description="Minimum eligible units")
    segments: Labels = Field(
        default_factory=list, description="The customer must be in one of these segments"
    )
    first_order_only: bool = False
    markets: list[CountryCode] = Field(default_factory=list, max_length=250)
    locales: list[LocaleTag] = Field(default_factory=list, max_length=250)
    schedule: ScheduleSpec | None = None
    cart: Annotated[list[CartConditionSpec], Field(max_length=10)] = Field(
        default_factory=list,
        description="Conditions on the whole cart, independent of what the promotion discounts",
    )

    def to_domain(self) -> Conditions:
        schedule = self.schedule
        return Conditions(
            min_subtotal_amounts=dict(self.min_subtotal_amounts),
            min_quantity=self.min_quantity,
            segments=frozenset(self.segments),
            first_order_only=self.first_order_only,
            markets=frozenset(self.markets),
            locales=frozenset(self.locales),
            schedule=None
            if schedule is None
            else Schedule(
                timezone=schedule.timezone,
                days=frozenset(schedule.days),
                start_minute=minute_of(schedule.start_time),
                end_minute=minute_of(schedule.end_time),
            ),
            cart=tuple(decode_condition(condition.model_dump()) for condition in self.cart),
        )

    @classmethod
    def of(cls, conditions: Conditions) -> "ConditionsSpec":
        schedule = conditions.schedule
        return cls(
            min_subtotal_amounts=dict(conditions.min_subtotal_amounts),
            min_quantity=conditions.min_quantity,
            segments=sorted(conditions.segments),
            first_order_only=conditions.first_order_only,
            markets=sorted(conditions.markets),
            locales=sorted(conditions.locales),
            schedule=None
            if schedule is None
            else ScheduleSpec(
                timezone=schedule.timezone,
                days=sorted(schedule.days),
                start_time=clock_of(schedule.start_minute),
                end_time=clock_of(schedule.end_minute),
            ),
            cart=[_CART_CONDITION.validate_python(encode(c)) for c in conditions.cart],
        )


Pick = Literal["cheapest", "most_expensive"]
ShippingMethods = Annotated[
    list[Label],
    Field(max_length=100, description="Shipping method ids; empty: whatever the cart chose"),
]


class UnitCapSpec(RequestModel):
    """Which units a per-unit effect touches: all when no maximum is set."""

    max_units: Limit | None = Field(default=None, description="Most units in the order")
    max_units_per_line: Limit | None = Field(default=None, description="Most units on one line")
    pick: Pick = Field(default="cheapest", description="Which units are taken first")
    group_size: Annotated[int, Field(ge=2, le=100)] | None = Field(
        default=None,
        description="Only as many units as make up complete groups of this many eligible "
        "units ('2.00 off each when bought in threes')",
    )


class PercentOffEffect(RequestModel):
    type: Literal["percent_off"]
    basis_points: BasisPoints
    max_amounts: OptionalMoneyMap = Field(default_factory=dict, description="Cap per order")
    max_line_amounts: OptionalMoneyMap = Field(default_factory=dict, description="Cap per line")


class AmountOffEffect(RequestModel):
    type: Literal["amount_off"]
    amounts: MoneyMap


class PercentOffEachEffect(RequestModel):
    """A percentage off each unit it touches, rounded per unit: '20 % off the cheapest item'
    is cap.max_units 1."""

    type: Literal["percent_off_each"]
    basis_points: BasisPoints
    cap: UnitCapSpec = Field(default_factory=UnitCapSpec)


class AmountOffEachEffect(RequestModel):
    type: Literal["amount_off_each"]
    amounts: MoneyMap = Field(description="Taken off each unit it touches")
    cap: UnitCapSpec = Field(default_factory=UnitCapSpec)


class FixedPriceEffect(RequestModel):
    type: Literal["fixed_price"]
    amounts: Annotated[PriceMap, Field(min_length=1, description="Price of each unit it touches")]
    cap: UnitCapSpec = Field(
        default_factory=UnitCapSpec, description="Capped units are chosen among the dearer ones"
    )


class BuyXGetYEffect(RequestModel):
    type: Literal["buy_x_get_y"]
    buy_quantity: Annotated[int, Field(ge=1, le=100)]
    get_quantity: Annotated[int, Field(ge=1, le=100)]
    basis_points: BasisPoints = Field(
        default=10_000, description="Off each 'get' unit; 10000 = free"
    )
    get_target: TargetSpec | None = Field(
        default=None, description="Default: the campaign's target"
    )
    max_applications: Limit | None = None
    pick: Pick = Field(default="cheapest", description="Which units are the discounted ones")


class BundleEffect(RequestModel):
    """Groups of `quantity` units: '3 for 10.00' (price_amounts) or '5.00 off every 3'
    (amounts_off); exactly one of the two (else 422 invalid_campaign)."""

    type: Literal["bundle"]
    quantity: Annotated[int, Field(ge=2, le=100)]
    price_amounts: PriceMap = Field(default_factory=dict, description="What a group costs")
    amounts_off: OptionalMoneyMap = Field(default_factory=dict, description="Taken off each group")
    max_applications: Limit | None = Field(default=None, description="Most groups per order")
    pick: Pick = Field(default="cheapest", description="Which units form the groups first")


class TierSpec(RequestModel):
    """Reached at min_quantity units or min_amounts (one of the two, the same in every tier);
    gives basis_points or amounts off (one of the two). Otherwise: 422 invalid_campaign."""

    min_quantity: Quantity | None = None
    min_amounts: OptionalMoneyMap = Field(default_factory=dict)
    basis_points: BasisPoints | None = None
    amounts: OptionalMoneyMap = Field(default_factory=dict)


class TieredEffect(RequestModel):
    """The highest tier reached applies: '10 % over 50.00, 20 % over 100.00'. Thresholds go
    up from tier to tier (else 422 invalid_campaign)."""

    type: Literal["tiered"]
    tiers: Annotated[list[TierSpec], Field(min_length=1, max_length=20)]
    max_amounts: OptionalMoneyMap = Field(default_factory=dict, description="Cap per order")


class FreeGiftEffect(RequestModel):
    type: Literal["free_gift"]
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100)] = 1
    unit_price_amounts: PriceMap = Field(default_factory=dict, description="Default: free")


class ShippingOffEffect(RequestModel):
    type: Literal["shipping_off"]
    basis_points: BasisPoints = Field(default=10_000, description="10000 = free shipping")
    amounts: OptionalMoneyMap = Field(default_factory=dict, description="A fixed amount instead")
    max_amounts: OptionalMoneyMap = Field(default_factory=dict)
    methods: ShippingMethods = Field(default_factory=list)


class ShippingPriceEffect(RequestModel):
    """Shipping costs at most this: 'shipping costs 2.00'."""

    type: Literal["shipping_price"]
    amounts: Annotated[PriceMap, Field(min_length=1)]
    methods: ShippingMethods = Field(default_factory=list)


class CashbackEffect(RequestModel):
    type: Literal["cashback"]
    basis_points: BasisPoints
    max_amounts: OptionalMoneyMap = Field(default_factory=dict)


EffectModel = (
    PercentOffEffect
    | AmountOffEffect
    | PercentOffEachEffect
    | AmountOffEachEffect
    | FixedPriceEffect
    | BuyXGetYEffect
    | BundleEffect
    | TieredEffect
    | FreeGiftEffect
    | ShippingOffEffect
    | ShippingPriceEffect
    | CashbackEffect
)
EffectSpec = Annotated[EffectModel, Field(discriminator="type")]
Effects = Annotated[
    list[EffectSpec],
    Field(
        min_length=1,
        max_length=5,
        description="Applied in this order, each to what the one before left",
    ),
]
_EFFECT: TypeAdapter[EffectModel] = TypeAdapter(EffectSpec)


def effect_to_domain(spec: EffectModel) -> benefits.Effect:
    """The API shape is the stored shape (domain/kinds.py), so one codec serves both. What the
    schema cannot say (one of two fields, thresholds going up) the kind checks itself."""
    try:
        return decode_effect(spec.model_dump())
    except ValueError as exc:
        raise InvalidCampaign(f"'{spec.type}': {exc}.", fields=["effects"]) from exc


def effect_of(effect: benefits.Effect) -> EffectModel:
    return _EFFECT.validate_python(encode(effect))


def rules_to_domain(
    effects: list[EffectSpec], target: TargetSpec, conditions: ConditionsSpec
) -> Rules:
    return Rules(
        effects=tuple(effect_to_domain(e) for e in effects),
        target=target.to_domain(),
        conditions=conditions.to_domain(),
    )


class StackingSpec(RequestModel):
    priority: Annotated[int, Field(ge=-1000, le=1000)] = Field(
        default=0, description="Higher applies first"
    )
    exclusive: bool = Field(default=False, description="Never combined with another promotion")
    line_exclusive: bool = Field(
        default=False,
        description="Takes only lines no other promotion discounted, and keeps them to itself",
    )
    exclusive_conflict: Literal["priority", "refuse"] = Field(
        default="priority",
        description="What an exclusive promotion does when another would also apply: "
        "'priority': it wins when it comes first in stacking order (and is refused when it comes "
        "after one that applied); 'refuse': it is refused (not_combinable) whenever any other "
        "promotion applies",
    )
    best_of: Label | None = Field(
        default=None,
        description="A group name: of the promotions in one group that would apply, only the "
        "one giving the most applies (the others: better_offer_applied)",
    )
