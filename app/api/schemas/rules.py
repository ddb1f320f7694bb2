"""Effects, targets and conditions as the API takes and shows them, and their domain values."""

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, StringConstraints

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
from app.domain.periods import ZONES
from app.domain.rules import Rules

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
        return Target(
            skus=frozenset(self.skus),
            categories=frozenset(self.categories),
            exclude_skus=frozenset(self.exclude_skus),
            exclude_categories=frozenset(self.exclude_categories),
        )

    @classmethod
    def of(cls, target: Target) -> "TargetSpec":
        return cls(
            skus=sorted(target.skus),
            categories=sorted(target.categories),
            exclude_skus=sorted(target.exclude_skus),
            exclude_categories=sorted(target.exclude_categories),
        )


class ScheduleSpec(RequestModel):
    """Days (1 = Monday) and a daily window [start_time, end_time) in the zone; an end not
    after the start runs overnight."""

    timezone: TimeZoneName
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(default_factory=list, max_length=7)
    start_time: ClockTime = "00:00"
    end_time: ClockTime = "24:00"


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
        )


class PercentOffEffect(RequestModel):
    type: Literal["percent_off"]
    basis_points: BasisPoints
    max_amounts: OptionalMoneyMap = Field(default_factory=dict, description="Cap per order")
    max_line_amounts: OptionalMoneyMap = Field(default_factory=dict, description="Cap per line")


class AmountOffEffect(RequestModel):
    type: Literal["amount_off"]
    amounts: MoneyMap


class AmountOffEachEffect(RequestModel):
    type: Literal["amount_off_each"]
    amounts: MoneyMap = Field(description="Taken off every eligible unit")


class FixedPriceEffect(RequestModel):
    type: Literal["fixed_price"]
    amounts: Annotated[PriceMap, Field(min_length=1, description="Price of each eligible unit")]


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


class CashbackEffect(RequestModel):
    type: Literal["cashback"]
    basis_points: BasisPoints
    max_amounts: OptionalMoneyMap = Field(default_factory=dict)


EffectSpec = Annotated[
    PercentOffEffect
    | AmountOffEffect
    | AmountOffEachEffect
    | FixedPriceEffect
    | BuyXGetYEffect
    | FreeGiftEffect
    | ShippingOffEffect
    | CashbackEffect,
    Field(discriminator="type"),
]
Effects = Annotated[list[EffectSpec], Field(min_length=1, max_length=5)]


def effect_to_domain(spec: EffectSpec) -> benefits.Effect:
    match spec:
        case PercentOffEffect():
            return benefits.PercentOff(spec.basis_points, spec.max_amounts, spec.max_line_amounts)
        case AmountOffEffect():
            return benefits.AmountOff(spec.amounts)
        case AmountOffEachEffect():
            return benefits.AmountOffEach(spec.amounts)
        case FixedPriceEffect():
            return benefits.FixedPrice(spec.amounts)
        case BuyXGetYEffect():
            return benefits.BuyXGetY(
                spec.buy_quantity,
                spec.get_quantity,
                spec.basis_points,
                spec.get_target.to_domain() if spec.get_target else None,
                spec.max_applications,
            )
        case FreeGiftEffect():
            return benefits.FreeGift(spec.sku, spec.quantity, spec.unit_price_amounts)
        case ShippingOffEffect():
            return benefits.ShippingOff(spec.basis_points, spec.amounts, spec.max_amounts)
        case CashbackEffect():
            return benefits.Cashback(spec.basis_points, spec.max_amounts)


def effect_of(effect: benefits.Effect) -> EffectSpec:
    match effect:
        case benefits.PercentOff():
            return PercentOffEffect(
                type="percent_off",
                basis_points=effect.basis_points,
                max_amounts=dict(effect.max_amounts),
                max_line_amounts=dict(effect.max_line_amounts),
            )
        case benefits.AmountOff():
            return AmountOffEffect(type="amount_off", amounts=dict(effect.amounts))
        case benefits.AmountOffEach():
            return AmountOffEachEffect(type="amount_off_each", amounts=dict(effect.amounts))
        case benefits.FixedPrice():
            return FixedPriceEffect(type="fixed_price", amounts=dict(effect.amounts))
        case benefits.BuyXGetY():
            return BuyXGetYEffect(
                type="buy_x_get_y",
                buy_quantity=effect.buy_quantity,
                get_quantity=effect.get_quantity,
                basis_points=effect.basis_points,
                get_target=TargetSpec.of(effect.get_target) if effect.get_target else None,
                max_applications=effect.max_applications,
            )
        case benefits.FreeGift():
            return FreeGiftEffect(
                type="free_gift",
                sku=effect.sku,
                quantity=effect.quantity,
                unit_price_amounts=dict(effect.unit_price_amounts),
            )
        case benefits.ShippingOff():
            return ShippingOffEffect(
                type="shipping_off",
                basis_points=effect.basis_points,
                amounts=dict(effect.amounts),
                max_amounts=dict(effect.max_amounts),
            )
        case benefits.Cashback():
            return CashbackEffect(
                type="cashback",
                basis_points=effect.basis_points,
                max_amounts=dict(effect.max_amounts),
            )


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
