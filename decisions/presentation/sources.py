"""The data sources a score snapshot read (`ScoreSnapshot.data_sources`), named in words.

The engine records codes (decisions/engine/features.py: `_sources`); pages show these names, in
the viewer's language, joined the way that language lists things."""

from collections.abc import Iterable

from django.utils.translation import gettext, gettext_lazy as _

DATA_SOURCE_NAMES = {
    "customer": _("customer record"),
    "repayments": _("repayments"),
    "applications": _("credit applications"),
    "credit_line": _("credit line"),
    "bureau": _("credit bureau"),
    "transactions": _("wallet transactions"),
}


def data_source_names(codes: Iterable[str]) -> str:
    """"customer record, repayments" (English) or "客户资料、还款记录" (Chinese); an unknown code as it is."""
    # Translators: the separator between the items of a list ("a, b, c").
    return gettext(", ").join(str(DATA_SOURCE_NAMES.get(code, code)) for code in codes)
