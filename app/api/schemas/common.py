"""Reusable field types of the API, each with its limits and description in one place."""

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from app.domain.money import CURRENCY_EXPONENTS, is_known_currency

# Large enough for any real price, small enough that 500 lines x 10,000 units stays in BIGINT.
MAX_AMOUNT = 100_000_000_000


def _known_currency(value: str) -> str:
    if not is_known_currency(value):
        raise ValueError(f"'{value}' is not an ISO 4217 currency code")
    return value


# No C0/C1 control characters, soft hyphen, zero-width, line/paragraph separators,
# bidirectional overrides or byte-order marks: text that looks like something it is not. As a
# pattern it is enforced and published in the OpenAPI spec alike.
PRINTABLE = r"^[^\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]*$"


CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_known_currency),
    Field(
        description="ISO 4217 code, upper case",
        examples=["EUR"],
        json_schema_extra={"enum": sorted(CURRENCY_EXPONENTS)},
    ),
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
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
]
CustomerId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
    Field(description="The shop's id for the customer", examples=["cus_1042"]),
]
CodeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE),
    Field(description="A coupon code as typed; matched case-insensitively after trimming"),
]
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=PRINTABLE),
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
