"""How amounts read on every page: the currency symbol and money as ¥12,345.00."""

from decimal import Decimal

from django.conf import settings


def currency_symbol() -> str:
    return getattr(settings, "RISKOPS_CURRENCY_SYMBOL", "¥")


def money(amount: Decimal | None) -> str:
    """¥12,345.00: the currency, comma thousands and two decimals in every language (Django's
    zh-hans format has no thousands separator, and amounts on these pages must read the same
    for every analyst)."""
    amount = amount or Decimal("0")
    return f"{currency_symbol()}{amount:,.2f}"
