"""Reads for the model pages: the list of fitted scorecards (/models/), one scorecard's validation
report (/models/policies/<version>/report/), and the sign-off panel on the policy version's admin
page. A fixed number of queries each; numbers formatted here for people (AUC with 3 decimals,
rates in percent), labelled in the viewer's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import FloatField
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _, ngettext

from decisions.governance.evidence_panels import Evidence
from decisions.governance.policy_sections import FEATURE_LABELS
from decisions.governance.services.policy import DiffLine, policy_diff
from decisions.models import PolicyVersion

from . import report_charts as charts
from .models import ScorecardDevelopment
from .validation import OOT, PARTS, TEST, psi_level, scorecard_digest

DASH = "—"


# --- formatting ---------------------------------------------------------------------------------


def dec3(value: float | None) -> str:
    return DASH if value is None else f"{value:.3f}"


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def interval(ci: list[float] | None) -> str:
    return DASH if not ci else f"{ci[0]:.3f} – {ci[1]:.3f}"


def level_name(level: str) -> str:
    return {"stable": _("stable"), "warning": _("warning"), "alert": _("alert")}.get(level, level)


def trend_words(trend: str) -> str:
    return {
        "ascending": _("the bad rate rises as the value grows"),
        "descending": _("the bad rate falls as the value grows"),
        "peak": _("the bad rate peaks in the middle"),
        "valley": _("the bad rate is lowest in the middle"),
        "convex": _("the bad rate is convex"),
        "concave": _("the bad rate is concave"),
    }.get(trend, _("no direction stated (%(trend)s)") % {"trend": trend})


def monotonicity_words(feature: dict) -> str:
    if not feature["selected"]:
        return _("Not in the card: it gives every customer the same points.")
    trend = trend_words(feature["monotonic_trend"])
    if feature["monotonic"] is True:
        return _("Follows the policy's trend: %(trend)s.") % {"trend": trend}
    if feature["monotonic"] is False:
        return _("Does not follow the policy's trend (%(trend)s): a bin's bad rate goes the other way; check the bins.") % {"trend": trend}
    return _("Not checked: the policy states no single direction (%(trend)s).") % {"trend": feature["monotonic_trend"]}


def _state_label(version: PolicyVersion) -> str:
    if version.state == PolicyVersion.State.DRAFT:
        if version.activation_requested_by_id:
            return _("draft, activation requested by %(user)s") % {"user": version.activation_requested_by.get_username()}
        return _("draft")
    return _("active") if version.state == PolicyVersion.State.ACTIVE else _("retired")


def _active_digest() -> str | None:
    body = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).values_list("body", flat=True).first()
    return scorecard_digest(body) if body is not None else None


def _optional_url(name: str) -> str | None:
    """Pages other parts of the app add (model health, challengers): linked once they exist."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


# --- /models/ -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScorecardRow:
    version: int
    name: str
    state: str
    state_label: str
    fitted: bool
    source: str
    created_by: str
    created_at: Any
    validated_by: str
    validated_at: Any
    rows: int
    period: str  # the observation dates, or the file a CSV fit came from
    test_auc: str
    oot_auc: str
    current: bool  # the report is of the scorecard as it is now


@dataclass(frozen=True)
class ModelIndex:
    rows: list[ScorecardRow]
    awaiting: list[PolicyVersion]  # drafts that change the scorecard and have no report yet


def _period(digest: dict) -> str:
    if digest.get("observation_from"):
        return f"{digest['observation_from']} – {digest.get('observation_to') or DASH}"
    if digest.get("file"):
        return _("file %(name)s") % {"name": digest["file"]}
    return DASH


def model_index() -> ModelIndex:
    """Every scorecard development, newest first, with its headline AUCs read out of the stored
    report by the database (the report itself is not loaded); and the drafts that change the
    scorecard without a report. Three queries."""
    developments = (
        ScorecardDevelopment.objects.select_related(
            "policy_version", "policy_version__activation_requested_by", "created_by", "validated_by"
        )
        .defer("report", "reference", "fit_settings")
        .annotate(
            test_auc=Cast(KT("report__parts__test__auc__value"), FloatField()),
            oot_auc=Cast(KT("report__parts__oot__auc__value"), FloatField()),
        )
        .order_by("-policy_version__version")
    )
    rows = []
    for d in developments:
        version = d.policy_version
        rows.append(
            ScorecardRow(
                version=version.version, name=version.name, state=version.state, state_label=_state_label(version),
                fitted=d.fitted, source=d.get_source_display(),
                created_by=d.created_by.get_username() if d.created_by else _("system"), created_at=d.created_at,
                validated_by=d.validated_by.get_username() if d.validated_by else (d.created_by.get_username() if d.created_by else _("system")),
                validated_at=d.validated_at, rows=d.sample_digest.get("rows", 0),
                period=_period(d.sample_digest),
                test_auc=dec3(d.test_auc), oot_auc=dec3(d.oot_auc), current=d.scorecard_sha256 == scorecard_digest(version.body),
            )
        )
    active = _active_digest()
    awaiting = [
        v
        for v in PolicyVersion.objects.filter(state=PolicyVersion.State.DRAFT, development__isnull=True).order_by("-version")
        if scorecard_digest(v.body) != active
    ]
    return ModelIndex(rows, awaiting)


def model_page_links() -> dict[str, str | None]:
    return {"health": _optional_url("modelling:health"), "challenger": _optional_url("modelling:challenger")}


# --- /models/policies/<version>/report/ ---------------------------------------------------------


@dataclass(frozen=True)
class PartRow:
    part: str
    label: str
    rows: str
    bads: str
    bad_rate: str
    auc: str
    auc_ci: str
    gini: str
    gini_ci: str
    ks: str
    ks_ci: str
    champion_auc: str
    oracle_auc: str


@dataclass(frozen=True)
class CalibrationRow:
    band: str
    rows: str
    bads: str
    predicted: str
    observed: str
    p_value: str
    consistent: bool


@dataclass(frozen=True)
class FeatureTable:
    name: str
    iv: str
    selected: bool
    monotonicity: str
    monotonic: bool | None
    bins: list[dict]

    @property
    def label(self) -> str:
        """The feature in words, in the viewer's language (the policy form's names)."""
        return str(FEATURE_LABELS.get(self.name, self.name))


@dataclass(frozen=True)
class StabilityRow:
    part: str
    label: str
    score_psi: str
    level: str
    level_label: str
    csi: list[tuple[str, str, str, str]]  # feature, CSI, level, level label


@dataclass
class ReportPage:
    version: PolicyVersion
    development: ScorecardDevelopment | None
    active: PolicyVersion | None
    current: bool
    scorecard_changed: bool
    can_validate: bool
    card: list[tuple[str, str]] = field(default_factory=list)
    limitations: list[str] = field(default_factory=list)
    parts: list[PartRow] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)
    calibration: list[tuple[str, list[CalibrationRow]]] = field(default_factory=list)
    features: list[FeatureTable] = field(default_factory=list)
    stability: list[StabilityRow] = field(default_factory=list)
    changes: list[DiffLine] = field(default_factory=list)
    scorecard_sha256: str = ""
    has_oracle: bool = False


def _n(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def _split_words(split: dict) -> str:
    if split.get("column"):
        return _("the file's column %(column)s says which rows are held out for test") % {"column": split["column"]}
    oot = split.get("oot_months") or 0
    held = _("%(test)s of the sample held out for test, seed %(seed)s") % {"test": pct(split.get("test_fraction"), 0), "seed": split.get("seed", DASH)}
    if not oot:
        return held
    return held + "; " + ngettext(
        "the latest %(n)d month out of time", "the latest %(n)d months out of time", oot
    ) % {"n": oot}


def _card(report: dict, development: ScorecardDevelopment) -> list[tuple[str, str]]:
    """The model card's facts, labelled; a fact the card does not hold (a CSV has no observation
    dates, no definition of bad, no exclusions) is left out rather than shown empty."""
    card = report.get("model_card", {})
    facts: list[tuple[str, str]] = []
    period = card.get("data_period")
    if period:
        facts.append((_("Data period (observation dates)"), _("%(start)s to %(end)s") % {
            "start": period.get("observation_from") or DASH, "end": period.get("observation_to") or DASH}))
    if card.get("file"):
        facts.append((_("File"), card["file"]))
    rows = card.get("rows")
    if rows is not None:
        sample = ngettext("%(rows)s row", "%(rows)s rows", rows) % {"rows": _n(rows)}
        if card.get("customers") is not None:
            sample += ", " + ngettext("%(n)s customer", "%(n)s customers", card["customers"]) % {"n": _n(card["customers"])}
        facts.append((_("Sample"), sample))
    facts.append((_("Bad rate"), pct(card.get("bad_rate"), 2)))
    definition = card.get("definition")
    if definition:
        facts.append((_("Definition of bad"), _("%(dpd)s+ days past due within %(months)s months of the observation date") % {
            "dpd": definition.get("bad_days_past_due", DASH), "months": definition.get("horizon_months", DASH)}))
    target = card.get("target")
    if target:
        facts.append((_("Definition of bad"), _("column %(column)s equal to %(value)s") % {"column": target.get("column"), "value": target.get("bad_value")}))
    exclusions = card.get("exclusions")
    if exclusions is not None:
        facts.append((_("Excluded: no scoring consent"), _n(exclusions.get("no_scoring_consent"))))
        facts.append((_("Excluded: no recent snapshot"), _n(exclusions.get("no_recent_snapshot"))))
    if card.get("split"):
        facts.append((_("Split"), _split_words(card["split"])))
    if card.get("out_of_time_dates"):
        facts.append((_("Out-of-time dates"), ", ".join(card["out_of_time_dates"])))
    facts.append((_("Owner"), card.get("owner") or DASH))
    if card.get("validated_by"):
        facts.append((_("Validated by"), card["validated_by"]))
    facts.append((_("Source"), development.get_source_display()))
    facts.append((_("How the report was made"), _("fitted and validated") if development.fitted else _("validated without fitting (the policy's bins)")))
    libraries = card.get("libraries", {})
    # Package names and versions are typed as written: set as code.
    facts.append((_("Libraries"), format_html_join(", ", "<code>{} {}</code>", sorted(libraries.items())) or DASH))
    return facts


def _parts(report: dict) -> list[PartRow]:
    out = []
    for part in PARTS:
        ranking = report["parts"].get(part)
        if ranking is None:
            continue
        out.append(
            PartRow(
                part=part, label=charts.part_name(part), rows=_n(ranking["rows"]), bads=_n(ranking["bads"]), bad_rate=pct(ranking.get("bad_rate"), 2),
                auc=dec3(ranking["auc"]["value"]), auc_ci=interval(ranking["auc"]["ci95"]),
                gini=dec3(ranking["gini"]["value"]), gini_ci=interval(ranking["gini"]["ci95"]),
                ks=dec3(ranking["ks"]["value"]), ks_ci=interval(ranking["ks"]["ci95"]),
                champion_auc=dec3(report.get("champion", {}).get(part)), oracle_auc=dec3(report.get("oracle", {}).get(part)),
            )
        )
    return out


def _charts(report: dict) -> list[dict]:
    aucs = {part: r["auc"]["value"] for part, r in report["parts"].items()}
    out = [{
        "id": "model-roc", "title": _("ROC curves"), "figure": charts.roc_figure(report["curves"], aucs),
        "caption": _("How many bads the score catches (up) for how many goods it refuses (right), per part; the dotted diagonal is a random ranking."),
    }]
    ks_part = next((p for p in (TEST, OOT) if p in report["curves"]), None) or next(iter(report["curves"]), None)
    if ks_part is not None:
        out.append({
            "id": "model-ks", "title": _("KS chart (%(part)s)") % {"part": charts.part_name(ks_part)},
            "figure": charts.ks_figure(report["curves"][ks_part]["ks"], report["parts"][ks_part]["ks"]["value"]),
            "caption": _("Cumulative shares of bads and goods by score; KS is the widest gap between them (dashed line)."),
        })
    for part, rows in report.get("calibration", {}).items():
        out.append({
            "id": f"model-calibration-{part}", "title": _("Calibration per band (%(part)s)") % {"part": charts.part_name(part)},
            "figure": charts.calibration_figure(rows), "empty": not rows, "empty_text": _("No rows in this part."),
            "caption": _("Mean predicted PD beside the observed bad rate in each band; the table below gives the binomial test."),
        })
    out.append({
        "id": "model-iv", "title": _("Information value per feature"), "figure": charts.iv_figure(report["features"]),
        "caption": _("IV below 0.02 (dotted line) does not predict; 0.02–0.1 weak, 0.1–0.3 medium, above 0.3 strong. Grey: not in the card."),
    })
    return out


def _calibration(report: dict) -> list[tuple[str, list[CalibrationRow]]]:
    return [
        (
            charts.part_name(part),
            [
                CalibrationRow(
                    band=charts.band_name(r["band"]), rows=_n(r["rows"]), bads=_n(r["bads"]), predicted=pct(r["predicted_pd"], 2),
                    observed=pct(r["observed_rate"], 2), p_value=p_value(r["p_value"]), consistent=r["consistent"],
                )
                for r in rows
            ],
        )
        for part, rows in report.get("calibration", {}).items()
    ]


def _bin_row(b: dict) -> dict:
    return {
        "label": _("Missing") if b["kind"] == "missing" else b["label"],
        "rows": _n(b["rows"]), "bads": _n(b["bads"]), "bad_rate": pct(b["bad_rate"], 2),
        "woe": dec3(b["woe"]), "iv": dec3(b["iv"]), "points": b["points"], "missing": b["kind"] == "missing",
    }


def _features(report: dict) -> list[FeatureTable]:
    return [
        FeatureTable(
            name=f["name"], iv=dec3(f["iv"]), selected=f["selected"], monotonicity=monotonicity_words(f), monotonic=f["monotonic"],
            bins=[_bin_row(b) for b in f["bins"]],
        )
        for f in report["features"]
    ]


def _stability(report: dict) -> list[StabilityRow]:
    out = []
    for part, s in report.get("stability", {}).items():
        csi = [(name, dec3(value), psi_level(value), level_name(psi_level(value))) for name, value in sorted(s["csi"].items(), key=lambda kv: -kv[1])]
        out.append(
            StabilityRow(part=part, label=charts.part_name(part), score_psi=dec3(s["score_psi"]), level=s["level"], level_label=level_name(s["level"]), csi=csi)
        )
    return out


def report_page(version_number: int) -> ReportPage:
    """Everything the report page shows for policy version `version_number` (404 when there is no
    such version). A version without a validation report gets an empty page with the button."""
    version = get_object_or_404(PolicyVersion.objects.select_related("activation_requested_by", "created_by"), version=version_number)
    development = ScorecardDevelopment.objects.filter(policy_version=version).select_related("created_by", "validated_by").first()
    active = PolicyVersion.objects.filter(state=PolicyVersion.State.ACTIVE).first()
    digest = scorecard_digest(version.body)
    page = ReportPage(
        version=version, development=development, active=active,
        current=development is not None and development.scorecard_sha256 == digest,
        scorecard_changed=active is None or scorecard_digest(active.body) != digest,
        can_validate=version.state == PolicyVersion.State.DRAFT,
        changes=policy_diff(active, version) if active is not None and active.pk != version.pk else [],
        scorecard_sha256=digest,
    )
    if development is None:
        return page
    report = development.report
    page.card = _card(report, development)
    # Stored in English (modelling/services/development.py: LIMITATIONS), read in the viewer's language.
    page.limitations = [_(text) for text in report.get("model_card", {}).get("limitations", [])]
    page.parts = _parts(report)
    page.charts = _charts(report)
    page.calibration = _calibration(report)
    page.features = _features(report)
    page.stability = _stability(report)
    page.has_oracle = bool(report.get("oracle"))
    return page


def report_document(version_number: int) -> dict:
    """The JSON of the report page: the stored report as it is, with its digests."""
    version = get_object_or_404(PolicyVersion, version=version_number)
    development = get_object_or_404(ScorecardDevelopment, policy_version=version)
    return {
        "version": version.version,
        "state": version.state,
        "report_sha256": development.report_sha256,
        "sample_sha256": development.sample_sha256,
        "scorecard_sha256": development.scorecard_sha256,
        "current_scorecard_sha256": scorecard_digest(version.body),
        "fitted": development.fitted,
        "validated_at": development.validated_at.isoformat(),
        "sample": development.sample_digest,
        "report": development.report,
    }


# --- the policy version's admin page (decisions/governance/evidence_panels.py) -----------------


def _worst_level(report: dict) -> str | None:
    levels = [s["level"] for s in report.get("stability", {}).values()]
    for level in ("alert", "warning", "stable"):
        if level in levels:
            return level
    return None


def signoff_evidence_panel(version: PolicyVersion) -> Evidence | None:
    """The validation report's link and headline figures for the admin page of a version that has
    one or needs one (its scorecard differs from the active policy's). Two queries."""
    development = (
        ScorecardDevelopment.objects.filter(policy_version_id=version.pk)
        .only("scorecard_sha256", "report_sha256", "sample_sha256", "validated_at", "report", "fitted")
        .first()
    )
    changed = version.state == PolicyVersion.State.DRAFT and scorecard_digest(version.body) != _active_digest()
    if development is None and not changed:
        return None
    url = reverse("modelling:report", args=[version.version])
    title = _("Validation report of the scorecard")
    if development is None:
        return Evidence(
            title=title, url=url, link_text=_("Open the report page and validate"),
            note=_("This draft changes the scorecard and has no validation report: its activation will be refused until it is validated."),
            ok=False,
        )
    report = development.report
    parts, champion = report.get("parts", {}), report.get("champion", {})
    level = _worst_level(report)
    figures = [
        (_("Test AUC"), dec3(parts.get(TEST, {}).get("auc", {}).get("value"))),
        (_("Out-of-time AUC"), dec3(parts.get(OOT, {}).get("auc", {}).get("value"))),
        (_("Champion AUC (test)"), dec3(champion.get(TEST))),
        (_("PSI level"), level_name(level) if level else DASH),
        (_("Report SHA-256"), development.report_sha256[:12] + "…"),
    ]
    current = development.scorecard_sha256 == scorecard_digest(version.body)
    if current:
        note = _("The report is of the scorecard as it is now; its digests go into the audit trail with the activation.")
    else:
        note = _("The scorecard changed after this report: its activation will be refused until it is validated again.")
    return Evidence(title=title, url=url, link_text=_("Open the validation report"), figures=figures, note=note, ok=current or not changed)

