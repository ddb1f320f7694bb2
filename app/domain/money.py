"""Money as integer minor units of an ISO 4217 currency, and the integer arithmetic on it.

Rounding rule: a percentage of an amount is rounded once, half up unless its campaign says
otherwise (Rounding), computed in integers only; what is then shared out over lines and units is
split exactly (allocate). Percentages are basis points (1 bp = 0.01 %, 10_000 bp = 100 %).
"""

from collections.abc import Sequence
from enum import StrEnum

# ISO 4217 minor-unit exponents. Currencies not listed use 2.
_EXPONENT_OVERRIDES: dict[str, int] = {
    # exponent 0
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
    "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # exponent 3
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # exponent 4
    "CLF": 4, "UYW": 4,
}  # fmt: skip

_EXPONENT_2 = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
    "GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC "
    "SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW "
    "ZWG"
)

CURRENCY_EXPONENTS: dict[str, int] = dict.fromkeys(_EXPONENT_2.split(), 2) | _EXPONENT_OVERRIDES

BASIS_POINTS_WHOLE = 10_000


def is_known_currency(currency: str) -> bool:
    """True for an active ISO 4217 code in upper case."""
    return currency in CURRENCY_EXPONENTS


def exponent(currency: str) -> int:
    """The number of decimal places of the currency's minor unit (JPY 0, EUR 2, KWD 3)."""
    return CURRENCY_EXPONENTS[currency]


class Rounding(StrEnum):
    """How a fraction of a minor unit is rounded."""

    HALF_UP = "half_up"
    """0.5 and above up: 12.345 -> 12.35 (the default)."""
    DOWN = "down"
    """Toward zero: the shopper never gets the fraction."""
    HALF_EVEN = "half_even"
    """0.5 to the even neighbour (banker's rounding): 12.345 -> 12.34, 12.355 -> 12.36."""


def percent_of(amount: int, basis_points: int, rounding: Rounding = Rounding.HALF_UP) -> int:
    """amount * basis_points / 10_000 for a non-negative amount, rounded as said; never above
    amount when bp <= 10_000."""
    if rounding is Rounding.HALF_UP:
        return (amount * basis_points + BASIS_POINTS_WHOLE // 2) // BASIS_POINTS_WHOLE
    whole, rest = divmod(amount * basis_points, BASIS_POINTS_WHOLE)
    if rounding is Rounding.DOWN:
        return whole
    twice = 2 * rest
    if twice > BASIS_POINTS_WHOLE or (twice == BASIS_POINTS_WHOLE and whole % 2):
        return whole + 1
    return whole


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split total over weights by largest remainder.

    The parts sum exactly to total, each part is within one minor unit of its exact share, and
    when 0 <= total <= sum(weights) no part exceeds its weight. Ties on the remainder go to the
    earlier index, so the result depends only on the order of weights.
    """
    weight_sum = sum(weights)
    if total == 0 or weight_sum == 0:
        return [0] * len(weights)
    if total < 0 or min(weights) < 0:
        raise ValueError("allocate() takes non-negative amounts")
    if total == weight_sum:
        return list(weights)  # everything is taken: each part is its whole weight
    floors = [total * w // weight_sum for w in weights]
    leftover = total - sum(floors)
    if leftover:
        remainders = [total * w % weight_sum for w in weights]
        # Largest remainder first, ties to the earlier index: sorted() is stable with
        # reverse=True as well, so this is the order of the key (-remainder, index) without
        # building a tuple per weight.
        by_remainder = sorted(range(len(weights)), key=remainders.__getitem__, reverse=True)
        for i in by_remainder[:leftover]:
            floors[i] += 1
    return floors


def format_amount(amount: int, currency: str) -> str:
    """Human form of a minor-unit amount, e.g. 450 EUR -> '4.50 EUR', 1200 JPY -> '1200 JPY'."""
    exp = exponent(currency)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**exp)
    if exp == 0:
        return f"{sign}{whole} {currency}"
    return f"{sign}{whole}.{frac:0{exp}d} {currency}"
