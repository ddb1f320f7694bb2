"""Reusable field types of the API, each with its limits and description in one place."""

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.domain.money import is_known_currency

# Large enough for any real price, small enough that 500 lines x 10,000 units stays in BIGINT.
MAX_AMOUNT = 100_000_000_000


def _known_currency(value: str) -> str:
    if not is_known_currency(value):
        raise ValueError(f"'{value}' is not an ISO 4217 currency code")
    return value


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in value):
        raise ValueError("must not contain control, format or unassigned characters")
    return value


CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
    Field(description="ISO 4217 code, upper case", examples=["EUR"]),
]
Amount = Annotated[
    int,
    Field(ge=0, le=MAX_AMOUNT, description="Money in minor units of the currency (cents for EUR)"),
]
PositiveAmount = Annotated[
    int,
    Field(gt=0, le=MAX_AMOUNT, description="Money in minor units of the currency (cents for EUR)"),
]
BasisPoints = Annotated[
    int, Field(ge=1, le=10_000, description="Hundredths of a percent: 1500 = 15 %")
]
Limit = Annotated[int, Field(ge=1, le=1_000_000_000)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
]
CustomerId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
    Field(description="The shop's id for the customer", examples=["cus_1042"]),
]
CodeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_printable),
    Field(description="A coupon code as typed; matched case-insensitively after trimming"),
]
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_printable),
]
Metadata = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        str | int | bool | None,
    ],
    Field(max_length=50, description="Up to 50 keys of your own; not interpreted"),
]


class RequestModel(BaseModel):
    """Requests reject unknown fields, so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid")
