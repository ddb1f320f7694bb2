"""Verdict messages in the shopper's language.

The catalogs are data: one JSON file per language next to this module (`fr.json`: every
reason's message, the hints "add 4,50 € more" and "add 2 more items" in the language's plural
forms, and what a code that applies says). A request's locale (`fr-CH`, `pl`, `zh-Hans-CN`)
picks the catalog of its language, English when there is none (`zh` is Simplified Chinese, for
every Chinese locale); amounts are formatted for the full locale (CLDR data, through Babel:
"4,50 €" in fr-FR, "€ 4,50" in nl-NL, "฿4.50" in th).
tests/unit/test_i18n.py checks that every reason has a message in every catalog.

Without a locale, messages stay the engine's English ones (domain/engine.py), as before.
"""

import copy
import json
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberPattern, parse_pattern

from app.domain.money import exponent
from app.domain.reasons import Reason, Shortfall

LANGUAGES = ("en", "fr", "de", "es", "it", "nl", "pl", "ro", "th", "zh")
FALLBACK = "en"
_HERE = Path(__file__).resolve().parent


@cache
def catalog(language: str) -> dict[str, Any]:
    """One language's messages, read once per process."""
    data: dict[str, Any] = json.loads((_HERE / f"{language}.json").read_text(encoding="utf-8"))
    return data


@lru_cache(maxsize=256)
def _resolve(locale: str) -> tuple[str, Locale]:
    """The catalog language and the CLDR locale for a BCP 47 tag."""
    try:
        parsed = Locale.parse(locale, sep="-")
    except (ValueError, UnknownLocaleError):
        language = locale.split("-")[0].lower()
        try:
            parsed = Locale.parse(language)
        except (ValueError, UnknownLocaleError):
            parsed = Locale.parse(FALLBACK)
    language = parsed.language if parsed.language in LANGUAGES else FALLBACK
    return language, parsed


def format_money(amount: int, currency: str, locale: str) -> str:
    """A minor-unit amount as the locale writes it: 450 EUR -> '4,50 €' in fr-FR. Always with
    the currency's own ISO 4217 decimals (domain/money.py), never CLDR's cash digits, which
    would round 0.40 HUF to '0 HUF' and understate what is missing."""
    _, parsed = _resolve(locale)
    places = exponent(currency)
    return str(
        _pattern(parsed, places).apply(
            Decimal(amount).scaleb(-places), parsed, currency=currency, currency_digits=False
        )
    )


@lru_cache(maxsize=512)
def _pattern(locale: Locale, places: int) -> NumberPattern:
    """The locale's currency pattern with exactly places decimals."""
    pattern = copy.copy(parse_pattern(locale.currency_formats["standard"]))
    pattern.frac_prec = (places, places)
    return pattern


def applies(locale: str) -> str:
    language, _ = _resolve(locale)
    return str(catalog(language)["applies"])


def message(reason: Reason, shortfall: Shortfall | None, currency: str, locale: str) -> str:
    """A reason's message in the locale's language, with its hint when the cart falls short."""
    language, parsed = _resolve(locale)
    texts = catalog(language)
    text = str(texts["reasons"][reason.value])
    hint = None
    if shortfall is not None and shortfall.amount is not None:
        hint = texts["add_amount"].format(amount=format_money(shortfall.amount, currency, locale))
    elif shortfall is not None and shortfall.quantity is not None:
        forms: dict[str, str] = texts["add_items"]
        rules = parsed if parsed.language == language else Locale.parse(language)
        form = rules.plural_form(shortfall.quantity)
        hint = forms.get(form, forms["other"]).format(count=shortfall.quantity)
    if hint is None:
        return text
    return f"{text}{texts.get('joiner', ' ')}{hint}"
