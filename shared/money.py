"""Money as staff type it and read it: amounts in minor units (pence, cents), so sums are exact.

Redress is recorded in the currency it was paid in; staff authority limits are in the
organisation's currency (the REDRESS_CURRENCY setting, pounds unless set otherwise).
"""

import re

from flask import current_app, has_app_context

CURRENCIES = ("GBP", "EUR", "USD")

DEFAULT_CURRENCY = "GBP"

# How each currency is written before the amount. "US$" keeps dollars apart from others'.
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "US$"}

CURRENCY_NAMES = {"GBP": "Pounds sterling", "EUR": "Euros", "USD": "US dollars"}

# No single remedy is anywhere near this: a typing slip, caught before it is paid.
MAX_AMOUNT_MINOR = 1_000_000_00

# Symbols or codes someone may type around the number; they are ignored.
_CURRENCY_MARKS = re.compile(r"(US\$|£|€|\$|\b(?:GBP|EUR|USD)\b)", re.IGNORECASE)
# Digits, optionally grouped in thousands with commas, then decimals (more than two get their
# own message below). "1,25" is refused rather than guessed at.
_NUMBER = re.compile(
    r"^(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)?(?:\.(?P<fraction>[0-9]*))?$"
)


def organisation_currency() -> str:
    """The currency staff authority limits are set in."""
    if has_app_context():
        currency = (current_app.config.get("REDRESS_CURRENCY") or DEFAULT_CURRENCY).upper()
        if currency in CURRENCIES:
            return currency
    return DEFAULT_CURRENCY


def currency_symbol(currency: str) -> str:
    return CURRENCY_SYMBOLS.get(currency, f"{currency} ")


def parse_amount(text: str) -> int:
    """An amount as typed ("25", "25.50", "£25.50", "1,250.00") in minor units.

    Raises ValueError with a message to show beside the field: the amount must be more than
    zero, have at most two decimal places and be at most 1,000,000.00.
    """
    return _parse(text, allow_zero=False)


def parse_limit(text: str) -> int:
    """A staff member's redress limit as typed: like an amount, but zero is allowed.

    A limit of zero means every payment they record needs a manager's approval.
    """
    return _parse(text, allow_zero=True)


def _parse(text: str, *, allow_zero: bool) -> int:
    typed = (text or "").strip()
    if not typed:
        raise ValueError("Enter an amount, like 25.50.")
    cleaned = _CURRENCY_MARKS.sub("", typed).replace(" ", "")
    if cleaned.startswith(("-", "\u2212")):
        raise ValueError("Enter an amount more than zero, without a minus sign.")
    match = _NUMBER.match(cleaned)
    if not cleaned or not match or (match["whole"] is None and not match["fraction"]):
        raise ValueError("Enter the amount as a number, like 25.50.")
    fraction = match["fraction"] or ""
    if len(fraction) > 2:
        raise ValueError("Enter the amount to the penny, with no more than two decimal places.")
    minor = int((match["whole"] or "0").replace(",", "")) * 100 + int(fraction.ljust(2, "0"))
    if minor == 0 and not allow_zero:
        raise ValueError("Enter an amount more than zero.")
    if minor > MAX_AMOUNT_MINOR:
        raise ValueError(
            f"Enter an amount of no more than {format_number(MAX_AMOUNT_MINOR)}:"
            " check the amount for a slip."
        )
    return minor


def format_number(amount_minor: int) -> str:
    """An amount without its currency: 125000 → "1,250.00"."""
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 100)
    return f"{sign}{whole:,}.{fraction:02d}"


def format_money(amount_minor: int, currency: str) -> str:
    """An amount as people read it: "£25.50", "€3.00", "US$10.00", "-£5.00"."""
    text = format_number(amount_minor)
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    return f"{sign}{currency_symbol(currency)}{text}"
