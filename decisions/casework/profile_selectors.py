"""Reads for the risk profile `/customers/<external_id>/`.

A fixed number of queries whatever the length of the customer's history: monthly series are
aggregated in SQL, per-row series are capped (the newest N points), and lists are cut at a page
with a "show more" link (N + 1 rows read to know whether there is more, never a COUNT).
Queries, in order (see `customer_profile`):
 1. customer ⟕ credit line ⟕ last snapshot ⟕ its policy version (one row)
 2. active override in force (`override_lookup_idx`)
 3. consents with their disclosure
 4. disclosure acknowledgements with their disclosure
 5. score history (newest `SERIES_CAP` snapshots, three columns)
 6. consents used by the last snapshot (M2M)
 7. monthly income / spend / repayments: one GROUP BY month, kind (only with transaction consent)
 8. installments for the days-past-due timeline (newest `SERIES_CAP`, only with scoring consent)
9. drawn balance: what is owed on unpaid installments (one aggregate)
10. limit history (newest `SERIES_CAP` decisions, four columns)
11. decision list page with policy version and snapshot joined
12. consents used by those decisions' snapshots (one prefetch; none when no snapshot)
13. alerts page (open first) with assignee joined
14. case notes page with author joined
15. the active policy row (overdue thresholds for the alerts' evidence)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone as dt_timezone
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, IntegerField, Prefetch, QuerySet, Sum, Value, When
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _, ngettext

from accounts.models import Consent, Customer, DisclosureAcknowledgement, RepaymentInstallment, Transaction
from riskops.core.exceptions import NotFound

from decisions.presentation import charts
from decisions.engine.features import SPEND_KINDS
from decisions.models import CaseNote, CreditDecision, CreditLine, Override, RiskAlert, ScoreSnapshot
from decisions.presentation.formats import currency_symbol, money
from decisions.engine.policy_reads import active_policy
from decisions.presentation.texts import access_name, alert_evidence_lines, reason_text, rule_name

SERIES_CAP = 365  # points per chart: a year of nightly scores
PAGE = 20  # rows per list before "show more"
MAX_PAGE = 500  # "show more" grows the page, up to this
MONTHS = 12
PROFILE_LISTS = ("decisions", "alerts", "notes")  # lists that grow with ?<name>=<rows>


@dataclass
class Profile:
    customer: Customer
    line: CreditLine | None
    access: str
    access_label: str
    limit: str
    drawn: str
    available: str
    snapshot: ScoreSnapshot | None
    score_reasons: list[dict]
    override: Override | None
    consents: list[Consent]
    active_purposes: set[str]
    acknowledgements: list[DisclosureAcknowledgement]
    charts: list[dict]
    decisions: list[dict]
    decisions_more: bool
    alerts: list[dict]
    alerts_more: bool
    notes: list[CaseNote]
    notes_more: bool
    snapshot_consents: list[Consent] = field(default_factory=list)
    pd_percent: str = ""

    # The case panel (work without leaving the profile), from the alerts page already read.
    @property
    def open_alerts(self) -> list[RiskAlert]:
        """The open alerts on the page, most severe first (the alerts list puts them first)."""
        return [row["alert"] for row in self.alerts if row["is_open"]]

    @property
    def open_alert_rows(self) -> list[dict]:
        return [row for row in self.alerts if row["is_open"]]

    @property
    def holder(self) -> Any | None:
        """Who works the account: the assignee of its open alerts (one account, one analyst)."""
        return next((a.assigned_to for a in self.open_alerts if a.assigned_to_id is not None), None)

    @property
    def claimed_at(self) -> datetime | None:
        return min((a.claimed_at for a in self.open_alerts if a.claimed_at is not None), default=None)


def _page(qs: QuerySet, size: int) -> tuple[list, bool]:
    rows = list(qs[: size + 1])
    return rows[:size], len(rows) > size


def _utc_today() -> date:
    return timezone.now().astimezone(dt_timezone.utc).date()


def _month_start(d: date, back: int) -> date:
    month = d.month - 1 - back
    return date(d.year + month // 12, month % 12 + 1, 1)


def customer_for_profile(*, external_id: str) -> Customer:
    """The customer with line, last snapshot and its policy joined (query 1); 404 if unknown."""
    customer = (
        Customer.objects.select_related("credit_line__last_snapshot__policy_version")
        .defer("credit_line__last_snapshot__policy_version__body")
        .filter(external_id=external_id)
        .first()
    )
    if customer is None:
        raise Http404(_("No customer with the id %(id)s.") % {"id": external_id})
    return customer


def customer_profile(*, external_id: str, show: dict[str, int] | None = None) -> Profile:
    """Everything the risk profile shows. `show` grows a list ("decisions", "alerts", "notes")
    past its first page, bounded by `MAX_PAGE`."""
    show = {k: max(PAGE, min(int(v), MAX_PAGE)) for k, v in (show or {}).items()}
    now = timezone.now()
    currency = currency_symbol()
    customer = customer_for_profile(external_id=external_id)  # 1
    try:
        line = customer.credit_line
    except CreditLine.DoesNotExist:
        line = None
    snapshot = line.last_snapshot if line else None

    override = (  # 2
        Override.objects.filter(customer=customer, state=Override.State.APPROVED, expires_at__gt=now)
        .order_by("-expires_at").first()
    )
    consents = list(Consent.objects.filter(customer=customer).select_related("disclosure").order_by("purpose", "-granted_at"))  # 3
    active = {c.purpose for c in consents if c.state == Consent.State.ACTIVE and (c.expires_at is None or c.expires_at > now)}
    acknowledgements = list(  # 4
        DisclosureAcknowledgement.objects.filter(customer=customer).select_related("disclosure").order_by("-acknowledged_at")[:PAGE]
    )

    # Charts: each states why it is missing rather than drawing nothing.
    chart_list: list[dict] = []
    scores = list(  # 5
        ScoreSnapshot.objects.filter(customer=customer, score__isnull=False)
        .order_by("-computed_at", "-id").values("computed_at", "score", "band")[:SERIES_CAP]
    )[::-1]
    chart_list.append(_score_chart(scores))
    snapshot_consents = list(snapshot.consents_used.all()) if snapshot else []  # 6

    if "transaction_analysis" in active:
        chart_list.append(_cash_flow_chart(customer, currency))  # 7
    else:
        chart_list.append({
            "id": "chart-cash-flow", "title": _("Monthly income, spend and repayments"), "empty": True,
            "empty_text": _("No transaction-analysis consent: the wallet's transactions are not read, so there is no cash-flow chart."),
        })
    if "credit_scoring" in active:
        chart_list.append(_dpd_chart(customer, currency, now))  # 8
    else:
        chart_list.append({
            "id": "chart-dpd", "title": _("Days past due per installment"), "empty": True,
            "empty_text": _("No credit-scoring consent: repayment history is not read, so there is no days-past-due timeline."),
        })
    # What is owed is the lender's own ledger, shown whatever the consents (query 9).
    drawn = RepaymentInstallment.objects.filter(customer=customer, paid_at__isnull=True).aggregate(
        owed=Sum(F("amount_due") - F("amount_paid"), output_field=DecimalField(max_digits=16, decimal_places=2))
    )["owed"] or Decimal("0.00")
    limits = list(  # 10
        CreditDecision.objects.filter(customer=customer).order_by("-decided_at", "-id")
        .values("decided_at", "limit_amount", "access", "reasons")[:SERIES_CAP]
    )[::-1]

    decision_rows, decisions_more = _page(  # 11, 12
        CreditDecision.objects.filter(customer=customer)
        .select_related("policy_version", "snapshot", "override")
        .defer("policy_version__body", "snapshot__features", "snapshot__points")
        .prefetch_related(Prefetch("snapshot__consents_used", queryset=Consent.objects.only("id", "purpose", "granted_at", "state")))
        .order_by("-decided_at", "-id"),
        show.get("decisions", PAGE),
    )
    alert_rows, alerts_more = _page(  # 13
        RiskAlert.objects.filter(customer=customer)
        .select_related("assigned_to", "resolved_by")
        .annotate(is_open=Case(When(status__in=RiskAlert.OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .order_by("is_open", "-severity", "-raised_at", "-id"),
        show.get("alerts", PAGE),
    )
    notes, notes_more = _page(  # 14
        CaseNote.objects.filter(customer=customer).select_related("author", "alert").order_by("-created_at", "-id"),
        show.get("notes", PAGE),
    )

    # The alerts on the page also mark the limit history (no extra query).
    chart_list.append(_limit_chart(limits, alert_rows, currency))
    thresholds = _overdue_thresholds()  # 15 (the active policy's row; its body is parsed once per process)
    access = line.access if line else "not_offered"
    limit = line.limit_amount if line else Decimal("0.00")
    return Profile(
        customer=customer,
        line=line,
        access=access,
        access_label=access_name(access),
        limit=money(limit),
        drawn=money(drawn),
        available=money(max(limit - drawn, Decimal("0.00"))),
        snapshot=snapshot,
        score_reasons=_reasons(snapshot.reason_codes if snapshot else []),
        override=override,
        consents=consents,
        active_purposes=active,
        acknowledgements=acknowledgements,
        charts=chart_list,
        decisions=[_decision_row(d) for d in decision_rows],
        decisions_more=decisions_more,
        alerts=[_alert_row(a, thresholds) for a in alert_rows],
        alerts_more=alerts_more,
        notes=notes,
        notes_more=notes_more,
        snapshot_consents=snapshot_consents,
        pd_percent=f"{snapshot.probability_of_default * 100:.2f}%" if snapshot and snapshot.probability_of_default is not None else "",
    )


def _score_chart(scores: list[dict]) -> dict:
    chart = {"id": "chart-score-history", "title": _("Score and band history")}
    if not scores:
        return {**chart, "empty": True, "empty_text": _("Never scored: there is no score history to draw.")}
    first, last = scores[0], scores[-1]
    if len(scores) == 1:
        caption = _("One score so far: %(score)s, band %(band)s.") % {"score": last["score"], "band": last["band"]}
    else:
        caption = ngettext(
            "Score moved from %(a)s (band %(ab)s) to %(b)s (band %(bb)s) over %(n)s score.",
            "Score moved from %(a)s (band %(ab)s) to %(b)s (band %(bb)s) over %(n)s scores.",
            len(scores),
        ) % {
            "a": first["score"], "ab": first["band"], "b": last["score"], "bb": last["band"], "n": len(scores),
        }
    return {**chart, "empty": False, "caption": caption, "figure": charts.score_history_figure(scores)}


def _cash_flow_chart(customer: Customer, currency: str) -> dict:
    today = _utc_today()
    start = _month_start(today, MONTHS - 1)
    months = [_month_start(today, MONTHS - 1 - i) for i in range(MONTHS)]
    rows = (
        Transaction.objects.filter(customer=customer, occurred_at__gte=datetime.combine(start, datetime.min.time(), tzinfo=dt_timezone.utc))
        .annotate(month=TruncMonth("occurred_at", tzinfo=dt_timezone.utc))
        .values("month", "kind").annotate(total=Sum("amount")).order_by()
    )
    income = {m: Decimal("0") for m in months}
    spend, repay = dict(income), dict(income)
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        if month not in income:
            continue
        if row["kind"] == "income":
            income[month] += row["total"]
        elif row["kind"] in SPEND_KINDS:
            spend[month] += row["total"]
        elif row["kind"] == "repayment":
            repay[month] += row["total"]
    chart = {"id": "chart-cash-flow", "title": _("Monthly income, spend and repayments")}
    if not any(income.values()) and not any(spend.values()) and not any(repay.values()):
        return {**chart, "empty": True, "empty_text": _("No wallet transactions in the last 12 months.")}
    last, prev = months[-1], months[-2]
    caption = _("This month: income %(income)s, spend %(spend)s, repayments %(repay)s.") % {
        "income": money(income[last]), "spend": money(spend[last]), "repay": money(repay[last]),
    }
    if spend[prev] and spend[last] >= 2 * spend[prev]:
        caption = _("Spend is %(x)s× last month's.") % {"x": round(spend[last] / spend[prev], 1)} + " " + caption
    return {
        **chart, "empty": False, "caption": caption,
        "figure": charts.cash_flow_figure(months, [income[m] for m in months], [spend[m] for m in months], [repay[m] for m in months], currency),
    }


def _dpd_chart(customer: Customer, currency: str, now: datetime) -> dict:
    today = now.astimezone(dt_timezone.utc).date()
    rows = list(
        RepaymentInstallment.objects.filter(customer=customer).order_by("-due_on", "-id")
        .values("due_on", "amount_due", "amount_paid", "paid_at")[:SERIES_CAP]
    )[::-1]
    points = []
    for r in rows:
        if r["paid_at"] is not None:
            dpd = max((r["paid_at"].astimezone(dt_timezone.utc).date() - r["due_on"]).days, 0)
        else:
            dpd = max((today - r["due_on"]).days, 0)
        points.append({"due_on": r["due_on"], "dpd": dpd, "amount_due": r["amount_due"], "paid": r["paid_at"] is not None})
    chart = {"id": "chart-dpd", "title": _("Days past due per installment")}
    if not points:
        return {**chart, "empty": True, "empty_text": _("No installments: the customer has not drawn on the line.")}
    late = [p for p in points if p["dpd"] > 0]
    worst = max(p["dpd"] for p in points)
    caption = (
        ngettext(
            "%(late)s of %(n)s installment late; the worst %(worst)s.", "%(late)s of %(n)s installments late; the worst %(worst)s.", len(points),
        ) % {"late": len(late), "n": len(points), "worst": ngettext("%(n)s day", "%(n)s days", worst) % {"n": worst}}
        if late else ngettext("%(n)s installment, on time.", "All %(n)s installments on time.", len(points)) % {"n": len(points)}
    )
    return {**chart, "empty": False, "caption": caption, "figure": charts.dpd_timeline_figure(points, currency)}


def _reasons(stored: list | None) -> list[dict]:
    """Stored reasons as (code, translated text); a bare code string is accepted as well."""
    out = []
    for r in stored or []:
        r = {"code": r} if isinstance(r, str) else r
        out.append({"code": r.get("code", ""), "text": reason_text(r)})
    return out


def _first_reason(reasons: list | None) -> str:
    found = _reasons(reasons[:1] if reasons else [])
    return found[0]["text"] if found else ""


def _limit_chart(decisions: list[dict], alerts: list[RiskAlert], currency: str) -> dict:
    chart = {"id": "chart-limit-history", "title": _("Limit history")}
    if not decisions:
        return {**chart, "empty": True, "empty_text": _("No decision yet: the engine has not decided on this customer.")}
    rows = [
        {"decided_at": d["decided_at"], "limit": d["limit_amount"], "access": d["access"], "reason": _first_reason(d["reasons"] or [])}
        for d in decisions
    ]
    last = rows[-1]
    caption = ngettext("%(n)s decision; now %(access)s at %(limit)s.", "%(n)s decisions; now %(access)s at %(limit)s.", len(rows)) % {
        "n": len(rows), "access": access_name(last["access"]), "limit": money(last["limit"]),
    }
    since = rows[0]["decided_at"]
    events = [
        {"raised_at": a.raised_at, "severity": a.severity, "rule": rule_name(a.rule)}
        for a in sorted(alerts, key=lambda a: a.raised_at)
        if a.raised_at >= since
    ]
    if events:
        caption += " " + ngettext("%(n)s alert marked on the line.", "%(n)s alerts marked on the line.", len(events)) % {"n": len(events)}
    return {**chart, "empty": False, "caption": caption, "figure": charts.limit_history_figure(rows, currency, alerts=events)}


def _decision_row(d: CreditDecision) -> dict[str, Any]:
    snapshot = d.snapshot
    return {
        "decision": d,
        "access_label": access_name(d.access),
        "previous_access_label": access_name(d.previous_access) if d.previous_access else "",
        "limit": money(d.limit_amount),
        "previous_limit": money(d.previous_limit) if d.previous_limit is not None else "",
        "reasons": _reasons(d.reasons),
        "policy_version": d.policy_version.version,
        "data_sources": snapshot.data_sources if snapshot else [],
        "consents_used": list(snapshot.consents_used.all()) if snapshot else [],
        "overridden": d.override_id is not None,
    }


def _overdue_thresholds() -> dict[str, int]:
    try:
        _version, policy = active_policy()
    except NotFound:
        return {}
    return {name: rule.params["min_days_past_due"] for name, rule in policy.rules.items() if "min_days_past_due" in rule.params}


def _alert_row(alert: RiskAlert, thresholds: dict[str, int]) -> dict[str, Any]:
    threshold = thresholds.get(alert.rule)
    return {
        "alert": alert,
        "is_open": alert.status in RiskAlert.OPEN_STATUSES,
        "rule_name": rule_name(alert.rule),
        "evidence": alert_evidence_lines(alert.rule, alert.evidence, threshold_days=threshold),
    }


def more_params(show: dict[str, int], key: str) -> int:
    return min(max(show.get(key, PAGE), PAGE) * 2, MAX_PAGE)
