"""Money as staff type it and read it: parsing to minor units, formatting, the currency."""

import pytest

from shared import money


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("25", 2500),
        ("25.5", 2550),
        ("25.50", 2550),
        ("£25.50", 2550),
        ("1,250.00", 125000),
        ("€3", 300),
        ("US$10.00", 1000),
        ("$10", 1000),
        (" 0.01 ", 1),
        (".75", 75),
        ("25.", 2500),
        ("GBP 12.30", 1230),
        ("£ 1,000,000.00", 1_000_000_00),
    ],
)
def test_amounts_as_typed_become_minor_units(typed, minor):
    assert money.parse_amount(typed) == minor


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        ("-5", "without a minus sign"),
        ("£-5.00", "without a minus sign"),
        ("-£5", "without a minus sign"),
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("£0", "more than zero"),
        ("25.505", "two decimal places"),
        ("25.500", "two decimal places"),
        ("twenty", "as a number"),
        ("1,25", "as a number"),
        ("12,34,567", "as a number"),
        ("1e5", "as a number"),
        (".", "as a number"),
        ("£", "as a number"),
        ("25..5", "as a number"),
        ("٣", "as a number"),  # digits from other scripts are not taken as amounts
        ("1,000,000.01", "no more than 1,000,000.00"),
        ("99999999999999999999", "no more than 1,000,000.00"),
    ],
)
def test_refused_amounts_say_what_to_fix(typed, says):
    with pytest.raises(ValueError) as refused:
        money.parse_amount(typed)
    assert says in str(refused.value)


def test_none_is_refused_like_an_empty_field():
    with pytest.raises(ValueError, match="Enter an amount"):
        money.parse_amount(None)


def test_a_limit_may_be_zero_but_is_otherwise_an_amount():
    assert money.parse_limit("0") == 0
    assert money.parse_limit("£0.00") == 0
    assert money.parse_limit("250") == 25000
    for typed in ("-1", "2.555", "lots", "", "1,000,000.01"):
        with pytest.raises(ValueError):
            money.parse_limit(typed)


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (2550, "GBP", "£25.50"),
        (300, "EUR", "€3.00"),
        (1000, "USD", "US$10.00"),
        (0, "GBP", "£0.00"),
        (5, "GBP", "£0.05"),
        (125000, "GBP", "£1,250.00"),
        (1_000_000_00, "EUR", "€1,000,000.00"),
        (-500, "GBP", "-£5.00"),
        (1234, "CHF", "CHF 12.34"),
    ],
)
def test_amounts_are_shown_with_their_currency(minor, currency, shown):
    assert money.format_money(minor, currency) == shown


def test_formatting_and_parsing_agree():
    for minor in (1, 99, 100, 2550, 125000, 1_000_000_00):
        for currency in money.CURRENCIES:
            assert money.parse_amount(money.format_money(minor, currency)) == minor


def test_the_organisation_currency_is_pounds_unless_set(app):
    assert money.organisation_currency() == "GBP"
    app.config["REDRESS_CURRENCY"] = "eur"
    assert money.organisation_currency() == "EUR"
    # An unknown currency falls back rather than showing amounts nobody can pay in.
    app.config["REDRESS_CURRENCY"] = "XYZ"
    assert money.organisation_currency() == "GBP"


def test_the_organisation_currency_without_an_app_is_pounds():
    assert money.organisation_currency() == "GBP"


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from shared.config import settings_from_environment

    monkeypatch.setenv("REDRESS_CURRENCY", "usd")
    monkeypatch.setenv("SECRET_KEY", "x")
    assert settings_from_environment(str(tmp_path))["REDRESS_CURRENCY"] == "USD"
    monkeypatch.delenv("REDRESS_CURRENCY")
    assert settings_from_environment(str(tmp_path))["REDRESS_CURRENCY"] == "GBP"
