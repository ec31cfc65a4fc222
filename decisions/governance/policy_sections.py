"""The policy's common edits as a form: band cut-offs, limits, rule thresholds and actions, scorecard bins.

Beside the JSON editor (admin_policy.py), for the edits a risk admin makes most, without scrolling
300 lines of JSON. The form only parses: one field per value of the document, named after its path
(``limits__multipliers__A`` is ``limits.multipliers.A``). A submitted form writes back only the
fields whose value changed, into a copy of the body, so a submit with nothing changed gives the
identical document and an edit changes exactly its own value (a policy's ``30.0`` stays ``30.0``
unless someone types over it). The new document is then checked by the same validator as the
JSON editor (`validate_policy`), and its error, said in words, is attached to the field it names;
saving is `policy_draft_edit`'s job (audited), never the form's.

What the form cannot do (add or remove a bin, a rule or a section, change a reason text) is the
JSON editor's.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field as dataclass_field
from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy as _

from riskops.core.exceptions import PolicyInvalid

from decisions.engine.policy import RULE_PARAMS, validate_policy
from decisions.models import AlertAction
from decisions.presentation.texts import RULE_NAMES

# Words for the scorecard's features and the limits' and rules' values: the document's keys are
# codes, a person edits "Debt to income".
FEATURE_LABELS = {
    "bureau_score": _("Credit bureau score"),
    "external_lenders": _("Other lenders"),
    "debt_to_income": _("Debt to income"),
    "max_dpd_12m": _("Worst days past due in 12 months"),
    "overdue_count": _("Installments overdue now"),
    "on_time_ratio": _("Share of installments paid on time"),
    "utilisation": _("Credit limit in use"),
    "income_proxy_3m": _("Income into the wallet, 3 months"),
    "spend_spike_ratio": _("Spending spike ratio"),
    "applications_30d": _("Credit applications, 30 days"),
    "tenure_months": _("Months as a customer"),
}
LIMIT_LABELS = {
    "fallback_income": _("Income assumed when unknown"),
    "min_limit": _("Smallest limit"),
    "max_limit": _("Largest limit"),
    "round_to": _("Round limits to"),
    "max_increase_pct": _("Largest increase per cycle (%)"),
    "cycle_days": _("Days between limit reviews"),
}
PARAM_LABELS = {
    "max_external_lenders": _("Most other lenders"),
    "max_debt_to_income": _("Highest debt to income"),
    "max_applications_7d": _("Most applications in 7 days"),
    "max_applications_30d": _("Most applications in 30 days"),
    "min_spike_ratio": _("Lowest spending spike ratio"),
    "min_spend_7d": _("Lowest spend in 7 days"),
    "min_days_past_due": _("Days past due from"),
    "grace_days": _("Days of grace"),
}
SECTIONS = ("bands", "limits", "rules", "scorecard")
SECTION_TITLES = {
    "bands": _("Band cut-offs"),
    "limits": _("Limits"),
    "rules": _("Rules"),
    "scorecard": _("Scorecard bins"),
}
_INTEGER_TEXT = re.compile(r"^-?\d+$")
_REQUIRED = re.compile(r"^'(\w+)' is a required property$")


def dotted(path: tuple) -> str:
    """A path as the validator names it: ``scorecard.features.utilisation.bins[2].points``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _name(path: tuple) -> str:
    return "__".join(str(p) for p in path)


class EdgeField(forms.CharField):
    """A bin's upper edge: a whole number stays a JSON number if it was one, anything else is
    written as the decimal string the policy uses (the validator says what is wrong with it)."""


@dataclass
class BinRow:
    start: str  # the previous bin's edge, shown, not edited
    below: forms.BoundField | None  # None: the last bin, open above
    points: forms.BoundField


@dataclass
class FeatureRows:
    code: str
    label: str
    missing_points: forms.BoundField
    bins: list[BinRow] = dataclass_field(default_factory=list)


@dataclass
class RuleRow:
    code: str
    label: str
    enabled: forms.BoundField
    action: forms.BoundField
    severity: forms.BoundField
    suspend_days: forms.BoundField | None
    params: list[tuple[str, forms.BoundField]] = dataclass_field(default_factory=list)  # (short label, field)


class PolicySectionsForm(forms.Form):
    """One field per editable value of `body`; `new_body()` is `body` with the changed values."""

    stamp = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, body: dict, stamp: str = "", read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.body = body
        self.expected_stamp = stamp
        self.fields["stamp"].initial = stamp
        self.paths: dict[str, tuple] = {}  # field name → path in the document
        self.originals: dict[str, Any] = {}  # field name → the value in the document
        self.section_errors: dict[str, list[str]] = {s: [] for s in SECTIONS}
        self._build()
        if read_only:
            for f in self.fields.values():
                f.disabled = True
        self._new_body: dict | None = None

    # --- the fields ------------------------------------------------------------------------------

    def _add(self, path: tuple, field: forms.Field, value: Any) -> str:
        name = _name(path)
        if isinstance(field, (forms.CharField, forms.IntegerField)):
            field.widget.attrs.setdefault("size", "10")
            field.widget.attrs.setdefault("class", "policy-value")
        field.initial = value if not isinstance(field, forms.CharField) or value is None else str(value)
        self.fields[name] = field
        self.paths[name] = path
        self.originals[name] = value
        return name

    def _build(self) -> None:
        body = self.body
        for i, band in enumerate(body["bands"]):
            self._add(("bands", i, "min_score"), forms.IntegerField(label=gettext("Band %(band)s: lowest score") % {"band": band["band"]}), band["min_score"])
        limits = body["limits"]
        for band, value in limits["multipliers"].items():
            self._add(("limits", "multipliers", band), forms.CharField(label=gettext("Band %(band)s: limit multiplier") % {"band": band}, max_length=40), value)
        for key, value in limits.items():
            if key == "multipliers":
                continue
            label = LIMIT_LABELS.get(key, key)
            field = forms.IntegerField(label=label) if isinstance(value, int) else forms.CharField(label=label, max_length=40)
            self._add(("limits", key), field, value)
        actions = [(a.value, a.label) for a in AlertAction]
        for code, spec in body["rules"].items():
            rule = str(RULE_NAMES.get(code, code))
            self._add(("rules", code, "enabled"), forms.BooleanField(label=gettext("%(rule)s: enabled") % {"rule": rule}, required=False), spec["enabled"])
            self._add(("rules", code, "action"), forms.ChoiceField(label=gettext("%(rule)s: action") % {"rule": rule}, choices=actions), spec["action"])
            self._add(("rules", code, "severity"), forms.IntegerField(label=gettext("%(rule)s: severity") % {"rule": rule}), spec["severity"])
            self._add(
                ("rules", code, "suspend_days"),
                forms.IntegerField(label=gettext("%(rule)s: days suspended") % {"rule": rule}, required=False,
                                   help_text=_("Needed when the action is to suspend; empty otherwise.")),
                spec.get("suspend_days"),
            )
            for param, kind in RULE_PARAMS.get(code, {}).items():
                if param not in spec:
                    continue
                label = f"{rule}: {PARAM_LABELS.get(param, param)}"
                field = forms.IntegerField(label=label) if kind == "integer" else forms.CharField(label=label, max_length=40)
                self._add(("rules", code, param), field, spec[param])
        for code, spec in body["scorecard"]["features"].items():
            feature = str(FEATURE_LABELS.get(code, code))
            self._add(("scorecard", "features", code, "missing_points"),
                      forms.IntegerField(label=gettext("%(feature)s: points when missing") % {"feature": feature}), spec["missing_points"])
            for i, b in enumerate(spec["bins"]):
                if b["below"] is not None:
                    self._add(("scorecard", "features", code, "bins", i, "below"),
                              EdgeField(label=gettext("%(feature)s, bin %(n)s: below") % {"feature": feature, "n": i + 1}, max_length=40), b["below"])
                self._add(("scorecard", "features", code, "bins", i, "points"),
                          forms.IntegerField(label=gettext("%(feature)s, bin %(n)s: points") % {"feature": feature, "n": i + 1}), b["points"])

    # --- what the template lays out --------------------------------------------------------------

    def _bf(self, *path) -> forms.BoundField | None:
        name = _name(path)
        return self[name] if name in self.fields else None

    def band_rows(self) -> list[tuple[str, forms.BoundField]]:
        return [(b["band"], self._bf("bands", i, "min_score")) for i, b in enumerate(self.body["bands"])]

    def multiplier_rows(self) -> list[tuple[str, forms.BoundField]]:
        return [(band, self._bf("limits", "multipliers", band)) for band in self.body["limits"]["multipliers"]]

    def limit_fields(self) -> list[forms.BoundField]:
        return [self._bf("limits", key) for key in self.body["limits"] if key != "multipliers"]

    def rule_rows(self) -> list[RuleRow]:
        rows = []
        for code, spec in self.body["rules"].items():
            rows.append(RuleRow(
                code=code, label=str(RULE_NAMES.get(code, code)),
                enabled=self._bf("rules", code, "enabled"), action=self._bf("rules", code, "action"),
                severity=self._bf("rules", code, "severity"), suspend_days=self._bf("rules", code, "suspend_days"),
                params=[(str(PARAM_LABELS.get(p, p)), bf) for p in RULE_PARAMS.get(code, {}) if (bf := self._bf("rules", code, p)) is not None],
            ))
        return rows

    def feature_rows(self) -> list[FeatureRows]:
        rows = []
        for code, spec in self.body["scorecard"]["features"].items():
            feature = FeatureRows(code=code, label=str(FEATURE_LABELS.get(code, code)),
                                  missing_points=self._bf("scorecard", "features", code, "missing_points"))
            start = "—"
            for i, b in enumerate(spec["bins"]):
                feature.bins.append(BinRow(
                    start=start, below=self._bf("scorecard", "features", code, "bins", i, "below"),
                    points=self._bf("scorecard", "features", code, "bins", i, "points"),
                ))
                start = str(b["below"])
            rows.append(feature)
        return rows

    # --- parsing and validation ------------------------------------------------------------------

    def _typed(self, name: str, value: Any) -> Any:
        original = self.originals[name]
        if isinstance(self.fields[name], EdgeField):
            text = (value or "").strip()
            # A whole number where the document had a number stays a number; "0.75" is a string.
            return int(text) if _INTEGER_TEXT.match(text) and not isinstance(original, str) else text
        if isinstance(self.fields[name], forms.CharField):
            return (value or "").strip()
        return value

    def clean(self):
        cleaned = super().clean()
        if self.expected_stamp and cleaned.get("stamp") != self.expected_stamp:
            raise forms.ValidationError(
                _("This draft was changed since you opened the form (by you in another tab, or by someone else). Reload it and make your edit again."),
                code="stale",
            )
        if self.errors:  # a value that did not even parse (a field said so): nothing to validate yet
            return cleaned
        body = copy.deepcopy(self.body)
        for name in self.changed_data:
            if name not in self.paths:
                continue
            *parents, key = self.paths[name]
            target = body
            for part in parents:
                target = target[part]
            value = self._typed(name, cleaned.get(name))
            if value is None and key == "suspend_days":
                target.pop(key, None)  # optional: empty means "not set"
            else:
                target[key] = value
        try:
            validate_policy(body)
        except PolicyInvalid as exc:
            self._attach(exc)
            return cleaned
        self._new_body = body
        return cleaned

    def _attach(self, exc: PolicyInvalid) -> None:
        """The validator's error on the field it names, else on the nearest section it names."""
        where = exc.field or ""
        words = exc.message[len(where) + 2:] if where and exc.message.startswith(f"{where}: ") else exc.message
        missing = _REQUIRED.match(words)
        if missing:
            where, words = f"{where}.{missing.group(1)}", gettext("is needed here")
        by_path = {dotted(path): name for name, path in self.paths.items()}
        if where in by_path:
            self.add_error(by_path[where], words)
            return
        section = where.split(".")[0].split("[")[0]
        if section in self.section_errors:
            self.section_errors[section].append(exc.message)
        self.add_error(None, exc.message)

    def new_body(self) -> dict:
        """The document with this form's changes (after `is_valid()`)."""
        if self._new_body is None:
            raise ValueError("the form is not valid")
        return self._new_body
