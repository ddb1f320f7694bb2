"""Reusable field types of the API, each with its limits and description in one place."""

import ipaddress
import re
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
)

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
_HIDDEN = r"\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff"
PRINTABLE = rf"^[^{_HIDDEN}]*$"
# Printable and not blank. Identifiers are kept exactly as sent (like Stripe's), never trimmed,
# so what the spec accepts is what is stored.
NOT_BLANK = rf"^[^{_HIDDEN}]*[^\s{_HIDDEN}][^{_HIDDEN}]*$"
# An identifier that later names a resource in a URL (customer and order ids): as NOT_BLANK,
# and without '/', which no path segment can carry (servers decode %2F before routing).
PATH_ID = rf"^[^/{_HIDDEN}]*[^\s/{_HIDDEN}][^/{_HIDDEN}]*$"


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


def _json_integer(value: object) -> object:
    """Integers as JSON integers: never 5.0, "5" or true (also outside strict models)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("must be a JSON integer")
    return value


JSON_INTEGER = BeforeValidator(_json_integer)


def _query_integer(value: object) -> object:
    """Integers in a query string as digits only: `20`, never `20.0` or `2e1`."""
    if (isinstance(value, str) and not value.isascii()) or not str(value).isdigit():
        raise ValueError("must be an integer written in digits")
    return value


QUERY_INTEGER = BeforeValidator(_query_integer)
Amount = Annotated[
    int,
    Field(ge=0, le=MAX_AMOUNT, description="Money in minor units of the currency (cents for EUR)"),
    JSON_INTEGER,
]
PositiveAmount = Annotated[
    int,
    Field(gt=0, le=MAX_AMOUNT, description="Money in minor units of the currency (cents for EUR)"),
    JSON_INTEGER,
]
BasisPoints = Annotated[
    int, Field(ge=1, le=10_000, description="Hundredths of a percent: 1500 = 15 %"), JSON_INTEGER
]
MAX_LIMIT = 1_000_000_000
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), JSON_INTEGER]
Quantity = Annotated[int, Field(ge=1, le=10_000), JSON_INTEGER]
Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
]
CustomerId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=PATH_ID),
    Field(
        description="The shop's id for the customer (no '/': it is used in URLs)",
        examples=["cus_1042"],
    ),
]
CodeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE),
    Field(description="A coupon code as typed; matched case-insensitively after trimming"),
]
# Spaces around it are trimmed later; no other whitespace, control or invisible characters
# (listed, so that Python's and the spec's ECMA regular expressions agree).
Email = Annotated[
    str,
    StringConstraints(
        min_length=3, max_length=200, pattern=rf"^ *[^@\s/{_HIDDEN}]+@[^@\s/{_HIDDEN}]+ *$"
    ),
    Field(examples=["ann@example.com"]),
]
Sku = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=NOT_BLANK),
]
ExternalId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=PATH_ID),
    Field(
        description="Your own identifier, stored exactly as given (no '/': it is used in URLs)",
        examples=["order-7731"],
    ),
]


def _ip_address(value: str) -> str:
    try:
        # No IPv6 zone ("%eth0"): the spec's ipv6 format has none, and it names no shopper.
        if "%" not in value:
            ipaddress.ip_address(value)
            return value
    except ValueError:
        pass
    raise ValueError("must be an IPv4 or IPv6 address")


ClientIp = Annotated[
    str,
    StringConstraints(min_length=2, max_length=45),
    AfterValidator(_ip_address),
    Field(
        description=(
            "The shopper's IP address, as your checkout saw it (not your server's). Failed code "
            "guesses are limited per address (an IPv6 /64 counts as one), so one shopper "
            "trying codes cannot lock out the others; without it, requests share one "
            "allowance per API key."
        ),
        examples=["203.0.113.7"],
        json_schema_extra={
            "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]
        },
    ),
]

# Integers every JSON reader holds exactly (and that PostgreSQL's JSON and orjson accept).
JSON_SAFE_INTEGER = 2**53 - 1
Metadata = Annotated[
    dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=PRINTABLE)],
        Annotated[str, StringConstraints(max_length=1000, pattern=PRINTABLE)]
        | Annotated[int, Field(ge=-JSON_SAFE_INTEGER, le=JSON_SAFE_INTEGER)]
        | bool
        | None,
    ],
    Field(
        max_length=50,
        description="Up to 50 keys of your own; not interpreted",
        # Publish the key rule where generators and validators read it: pydantic alone leaves
        # keys that miss the pattern allowed by the spec.
        json_schema_extra={
            "additionalProperties": False,
            "propertyNames": {"minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
        },
    ),
]

# Enums, UUIDs and timestamps arrive as JSON strings: parsed from them in strict requests.
FROM_JSON_STRING = Strict(False)

# RFC 3339 with an offset, years 1970-8999 as written: the instant in UTC then stays inside
# what PostgreSQL and Python hold. Checked on the raw text, so numbers are not read as Unix time.
_TIMESTAMP = (
    r"^(19[7-9][0-9]|[2-8][0-9]{3})-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_TIMESTAMP_RE = re.compile(_TIMESTAMP)


def _rfc3339(value: object) -> object:
    if not isinstance(value, str) or _TIMESTAMP_RE.match(value) is None:
        raise ValueError("must be an RFC 3339 timestamp with an offset, years 1970-8999")
    return value


Timestamp = Annotated[
    AwareDatetime,
    FROM_JSON_STRING,
    BeforeValidator(_rfc3339),
    Field(
        description="RFC 3339 with a time zone offset, years 1970-8999",
        json_schema_extra={"pattern": _TIMESTAMP},
        examples=["2026-12-01T00:00:00+01:00"],
    ),
]


class RequestModel(BaseModel):
    """Requests take exactly what the spec describes: unknown fields are refused (a typo is an
    error, not a silent no-op), and values are strict, so `1000.0` is not an integer and
    `0`, `1.0` or `"false"` are not booleans. FastAPI validates the decoded JSON as Python
    values, where strict mode would also refuse a string for an enum, a UUID or a timestamp:
    those fields are marked FROM_JSON_STRING (a test walks every request model for them)."""

    model_config = ConfigDict(extra="forbid", strict=True)
