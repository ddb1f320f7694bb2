"""Messages in the shopper's language: every reason in every catalog, amounts as the locale
writes them, and the languages' plural forms."""

import pytest

from app import i18n
from app.domain.engine import message_for
from app.domain.reasons import Reason, Shortfall
from app.services.checkout_results import APPLIES


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_reason_has_a_message_in_every_language(language: str) -> None:
    texts = i18n.catalog(language)
    assert set(texts["reasons"]) == {reason.value for reason in Reason}
    assert all(text.strip() for text in texts["reasons"].values())
    assert texts["applies"].strip()
    assert "{amount}" in texts["add_amount"]
    assert "other" in texts["add_items"]
    assert all("{count}" in form for form in texts["add_items"].values())


def test_the_english_catalog_is_the_engines_english() -> None:
    texts = i18n.catalog("en")
    assert texts["reasons"] == {reason.value: message_for(reason) for reason in Reason}
    assert texts["applies"] == APPLIES


@pytest.mark.parametrize(
    ("locale", "amount", "currency", "expected"),
    [
        ("fr-FR", 450, "EUR", "4,50\u00a0€"),
        ("de-DE", 123456, "EUR", "1.234,56\u00a0€"),
        ("en-US", 450, "USD", "$4.50"),
        ("nl-NL", 450, "EUR", "€\u00a04,50"),
        ("pl-PL", 1999, "PLN", "19,99\u00a0zł"),
        ("ja-JP", 1200, "JPY", "￥1,200"),
        ("th-TH", 450, "THB", "฿4.50"),
        ("en", 5, "KWD", "KWD0.005"),
        # The currency's own decimals, never CLDR's cash digits (0 for HUF, IQD).
        ("de-DE", 40, "HUF", "0,40\u00a0HUF"),
        ("en", 4500, "IQD", "IQD4.500"),
    ],
)
def test_money_is_formatted_for_the_locale(
    locale: str, amount: int, currency: str, expected: str
) -> None:
    assert i18n.format_money(amount, currency, locale) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 produkt"), (2, "2 produkty"), (5, "5 produktów"), (22, "22 produkty")],
)
def test_polish_plural_forms(count: int, expected: str) -> None:
    text = i18n.message(Reason.MIN_QUANTITY_NOT_MET, Shortfall(quantity=count), "PLN", "pl-PL")
    assert f"Dodaj jeszcze {expected}," in text


def test_a_hint_in_french() -> None:
    text = i18n.message(Reason.MIN_SUBTOTAL_NOT_MET, Shortfall(amount=450), "EUR", "fr-FR")
    assert text == (
        "Les articles concernés sont en dessous du minimum de cette offre. "
        "Ajoutez encore 4,50\u00a0€ pour en profiter."
    )


@pytest.mark.parametrize("locale", ["ja-JP", "xx", "en-GB", "sr-Latn-RS"])
def test_a_language_without_a_catalog_falls_back_to_english(locale: str) -> None:
    text = i18n.message(Reason.MIN_QUANTITY_NOT_MET, Shortfall(quantity=1), "EUR", locale)
    assert text == (
        "There are not enough eligible items for this offer. Add 1 more item to unlock it."
    )


def test_regions_and_scripts_pick_their_language() -> None:
    assert i18n.applies("zh-Hans-CN") == i18n.catalog("zh")["applies"]
    assert i18n.applies("fr-CA") == i18n.catalog("fr")["applies"]
    assert i18n.message(Reason.EXPIRED, None, "EUR", "de-AT") == "Dieses Angebot ist abgelaufen."
