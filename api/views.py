"""The service API, version 1: one view per operation. Each parses the request, calls one service
or selector, and shapes the answer; services validate and raise domain errors naming the field,
which riskops/core/api.py turns into JSON (see the README's "Service API")."""

import re
from datetime import date, datetime
from typing import Any, Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, JsonResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils.dateparse import parse_datetime
from django.utils.http import escape_leading_slashes
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import events
from accounts.events_bulk import BULK_SERVICES, MAX_BATCH, BatchTooLarge
from accounts.models import Consent, Disclosure, Transaction
from accounts.validation import column, integer, text
from riskops.core.exceptions import NotFound, ValidationFailed

from . import serializers as s
from .authentication import ApiPrincipal
from .errors import ERRORS, IDEMPOTENCY_PARAM, READ_ERRORS
from .idempotency import idempotent
from .models import Scope
from .selectors import customer_by_external_id, decision_history, draw_installment, draw_schedule, effective_decision, open_alerts
from .tasks import recompute_customers_on_commit

def _body(request: Request) -> dict:
    data = request.data
    if isinstance(data, QueryDict) or (not data and request.META.get("CONTENT_LENGTH") in (None, "", "0")):
        raise ValidationFailed("the body is empty; send a JSON object", field="body")
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", field="body")
    return data


def _allowed(data: dict, allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed("is not a field of this request", field=str(unknown[0])[:100])


def _moment(value: Any, *, field: str, required: bool = True) -> datetime | None:
    """An ISO 8601 string → datetime; a naive one passes through, for the service to refuse."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ValidationFailed("must be an ISO 8601 date-time string with a timezone", field=field)
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed(f"{value[:40]!r} is not an ISO 8601 date-time", field=field)
    return parsed


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(value: Any, *, field: str) -> date:
    """A `YYYY-MM-DD` string (OpenAPI's full-date) → date; nothing looser (no time, no week dates)."""
    if not isinstance(value, str):
        raise ValidationFailed("must be an ISO 8601 date string, YYYY-MM-DD", field=field)
    try:
        parsed = date.fromisoformat(value) if _ISO_DATE.fullmatch(value) else None
    except ValueError:  # 2026-02-30
        parsed = None
    if parsed is None:
        raise ValidationFailed(f"{value[:40]!r} is not a date (YYYY-MM-DD)", field=field)
    return parsed


def _schedule(value: Any) -> Any:
    """A draw's `installments` with each `due_on` parsed to a date. Anything else that is not a
    list of objects passes through as it came, for the service to refuse naming the item."""
    if value is None:  # the schema's array is not nullable: null is not "no schedule"
        raise ValidationFailed("must be a list of installments, not null; only a credit_draw sends one", field="installments")
    if not isinstance(value, list):
        return value
    return [
        {**item, "due_on": _date(item["due_on"], field=f"installments[{index}].due_on")}
        if isinstance(item, dict) and "due_on" in item else item
        for index, item in enumerate(value)
    ]


def _currency(data: dict, *, field: str = "currency") -> None:
    value = data.get("currency")
    if value is None:
        raise ValidationFailed("is required", field=field)
    if value != settings.RISKOPS_CURRENCY:
        raise ValidationFailed(f"must be {settings.RISKOPS_CURRENCY}, the book's currency", field=field)


def _client(request: Request):
    return request.user.client if isinstance(request.user, ApiPrincipal) else None


def _required(data: dict, *names: str) -> None:
    for name in names:
        if name not in data:
            raise ValidationFailed("is required", field=name)


class WriteView(APIView):
    """A write: runs under the request's Idempotency-Key."""

    def post(self, request: Request, *args, **kwargs) -> Response:
        return idempotent(request, _client(request), lambda: self.write(request, *args, **kwargs))

    def write(self, request: Request, *args, **kwargs) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError


# --- single events -------------------------------------------------------------------------

_TIME_FIELDS = {"transactions": "occurred_at", "repayments": "paid_at", "applications": "applied_at", "bureau_reports": "reported_at"}


def _event_args(kind: str, data: dict) -> dict:
    """The item's service arguments: currency checked and dropped, its time parsed."""
    allowed = {
        "transactions": set(s.TransactionIn().fields), "repayments": set(s.RepaymentIn().fields),
        "applications": set(s.CreditApplicationIn().fields), "bureau_reports": set(s.BureauReportIn().fields),
    }[kind]
    _allowed(data, allowed)
    _currency(data)
    args = {k: v for k, v in data.items() if k != "currency"}
    time_field = _TIME_FIELDS[kind]
    args[time_field] = _moment(data.get(time_field), field=time_field)
    return args


class TransactionCreate(WriteView):
    required_scopes = (Scope.EVENTS_WRITE.value,)

    @extend_schema(request=s.TransactionIn, responses={201: s.TransactionOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM], tags=["events"],
                   summary="Record one wallet transaction (not a repayment); a credit draw with its repayment schedule")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        args = _event_args("transactions", _body(request))
        _required(args, "customer")
        customer = customer_by_external_id(args.pop("customer"))
        _required(args, "external_id", "kind", "amount")
        if "installments" in args:
            args["installments"] = _schedule(args["installments"])
        row = events.transaction_record(customer=customer, **args)
        out: dict[str, Any] = {"id": row.pk, "external_id": row.external_id, "customer": customer.external_id}
        if row.kind == Transaction.Kind.CREDIT_DRAW:
            out["installments"] = draw_schedule(draw_id=row.pk)
        return Response(s.TransactionOut(out).data, status=201)


class RepaymentCreate(WriteView):
    required_scopes = (Scope.EVENTS_WRITE.value,)

    @extend_schema(request=s.RepaymentIn, responses={201: s.RepaymentOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM], tags=["events"],
                   summary="Apply one repayment to an installment of a credit-line draw")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        args = _event_args("repayments", _body(request))
        _required(args, "draw", "sequence", "external_id", "amount")
        draw, sequence = args.pop("draw"), args.pop("sequence")
        draw = text(draw, field="draw", column=column(Transaction, "external_id"))
        sequence = integer(sequence, field="sequence", minimum=1, maximum=32767)
        installment = draw_installment(draw_external_id=draw, sequence=sequence)
        customer = installment.customer.external_id
        installment = events.repayment_record(installment=installment, **args)
        out = {
            "external_id": args["external_id"], "customer": customer, "draw": draw, "sequence": installment.sequence,
            "amount_due": installment.amount_due, "amount_paid": installment.amount_paid, "paid_at": installment.paid_at,
        }
        return Response(s.RepaymentOut(out).data, status=201)


class CreditApplicationCreate(WriteView):
    required_scopes = (Scope.EVENTS_WRITE.value,)

    @extend_schema(request=s.CreditApplicationIn, responses={201: s.EventOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM],
                   tags=["events"], summary="Record one credit application")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        args = _event_args("applications", _body(request))
        _required(args, "customer")
        customer = customer_by_external_id(args.pop("customer"))
        _required(args, "external_id", "requested_amount")
        row = events.application_record(customer=customer, **args)
        return Response({"id": row.pk, "external_id": row.external_id, "customer": customer.external_id}, status=201)


class BureauReportCreate(WriteView):
    required_scopes = (Scope.EVENTS_WRITE.value,)

    @extend_schema(request=s.BureauReportIn, responses={201: s.EventOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM], tags=["events"],
                   summary="Record one credit-bureau report")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        args = _event_args("bureau_reports", _body(request))
        _required(args, "customer")
        customer = customer_by_external_id(args.pop("customer"))
        _required(args, "external_id", "score", "external_lenders", "external_debt")
        row = events.bureau_report_record(customer=customer, **args)
        return Response({"id": row.pk, "external_id": row.external_id, "customer": customer.external_id}, status=201)


# --- batches -------------------------------------------------------------------------------


def _batch_items(kind: str, data: dict) -> list[dict]:
    _allowed(data, {"items"})
    items = data.get("items")
    if not isinstance(items, list):
        raise ValidationFailed("must be a list of events", field="items")
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"holds {len(items)} events; the limit is {MAX_BATCH}", field="items")
    parsed = []
    time_field = _TIME_FIELDS[kind]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValidationFailed("must be an object", field=f"items[{index}]", index=index)
        value = item.get("currency")
        if value != settings.RISKOPS_CURRENCY:
            message = "is required" if value is None else f"must be {settings.RISKOPS_CURRENCY}, the book's currency"
            raise ValidationFailed(message, field=f"items[{index}].currency", index=index)
        item = {k: v for k, v in item.items() if k != "currency"}
        try:
            item[time_field] = _moment(item.get(time_field), field=time_field)
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, field=f"items[{index}].{time_field}", index=index) from None
        parsed.append(item)
    return parsed


def _batch_view(kind: str, request_serializer, summary: str) -> type[WriteView]:
    class BatchCreate(WriteView):
        required_scopes = (Scope.EVENTS_WRITE.value,)

        @extend_schema(request=request_serializer, responses={200: s.BatchOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM],
                       tags=["events"], summary=summary)
        def post(self, request, *args, **kwargs):
            return super().post(request, *args, **kwargs)

        def write(self, request):
            result = BULK_SERVICES[kind](items=_batch_items(kind, _body(request)), enqueue=recompute_customers_on_commit)
            return Response({"created": result.created, "existing": result.existing, "customers": len(result.customers)})

    BatchCreate.__name__ = BatchCreate.__qualname__ = f"{request_serializer.__name__.removesuffix('In')}Create"
    return BatchCreate


TransactionBatchCreate = _batch_view("transactions", s.TransactionBatchIn, "Record up to 1,000 transactions, all or nothing")
RepaymentBatchCreate = _batch_view("repayments", s.RepaymentBatchIn, "Apply up to 1,000 repayments, all or nothing")
CreditApplicationBatchCreate = _batch_view("applications", s.CreditApplicationBatchIn, "Record up to 1,000 applications, all or nothing")
BureauReportBatchCreate = _batch_view("bureau_reports", s.BureauReportBatchIn, "Record up to 1,000 bureau reports, all or nothing")


# --- consents and acknowledgements --------------------------------------------------------


def _consent_out(consent: Consent, customer: str) -> dict:
    return {
        "id": consent.pk, "customer": customer, "purpose": consent.purpose, "state": consent.state,
        "disclosure_version": consent.disclosure.version, "granted_at": consent.granted_at, "expires_at": consent.expires_at,
        "withdrawn_at": consent.withdrawn_at,
    }


def _int(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed("must be an integer", field=field)
    return value


class ConsentGrant(WriteView):
    required_scopes = (Scope.CONSENTS_WRITE.value,)

    @extend_schema(request=s.ConsentGrantIn, responses={201: s.ConsentOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM],
                   tags=["consents"], summary="Record a purpose-specific consent")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        data = _body(request)
        _allowed(data, set(s.ConsentGrantIn().fields))
        _required(data, "customer", "purpose", "disclosure_version", "channel", "evidence")
        customer = customer_by_external_id(data["customer"])
        version = _int(data["disclosure_version"], field="disclosure_version")
        disclosure = Disclosure.objects.filter(kind=Disclosure.Kind.CONSENT_TEXT, version=version).first()
        if disclosure is None:
            raise NotFound(f"no consent_text disclosure version {version}", field="disclosure_version")
        consent = events.consent_grant(
            customer=customer, purpose=data["purpose"], disclosure=disclosure, channel=data["channel"], evidence=data["evidence"],
            expires_at=_moment(data.get("expires_at"), field="expires_at", required=False),
        )
        return Response(s.ConsentOut(_consent_out(consent, customer.external_id)).data, status=201)


class ConsentWithdraw(WriteView):
    required_scopes = (Scope.CONSENTS_WRITE.value,)

    @extend_schema(request=s.ConsentWithdrawIn, responses={200: s.ConsentOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM],
                   tags=["consents"], summary="Withdraw the customer's active consent for a purpose")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        data = _body(request)
        _allowed(data, set(s.ConsentWithdrawIn().fields))
        _required(data, "customer", "purpose")
        customer = customer_by_external_id(data["customer"])
        purpose = data["purpose"]
        if not isinstance(purpose, str) or purpose not in Consent.Purpose.values:
            raise ValidationFailed(f"unknown purpose {str(purpose)[:40]!r}", field="purpose")
        consents = Consent.objects.filter(customer=customer, purpose=purpose).select_related("disclosure")
        consent = consents.filter(state=Consent.State.ACTIVE).first() or consents.order_by("-withdrawn_at", "-id").first()
        if consent is None:
            raise NotFound("the customer never gave this consent", field="purpose")
        # A consent withdrawn already is returned unchanged (a retry is harmless).
        consent = events.consent_withdraw(consent=consent, channel=data.get("channel", "app"), evidence=data.get("evidence"))
        return Response(s.ConsentOut(_consent_out(consent, customer.external_id)).data)


class AcknowledgementCreate(WriteView):
    required_scopes = (Scope.CONSENTS_WRITE.value,)

    @extend_schema(request=s.AcknowledgementIn, responses={201: s.AcknowledgementOut, **ERRORS}, parameters=[IDEMPOTENCY_PARAM],
                   tags=["consents"], summary="Record that the customer acknowledged a disclosure version")
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)

    def write(self, request):
        data = _body(request)
        _allowed(data, set(s.AcknowledgementIn().fields))
        _required(data, "customer", "disclosure_kind", "disclosure_version", "shown_at", "acknowledged_at")
        customer = customer_by_external_id(data["customer"])
        kind = data["disclosure_kind"]
        if not isinstance(kind, str) or kind not in Disclosure.Kind.values:
            raise ValidationFailed(f"unknown disclosure kind {str(kind)[:40]!r}", field="disclosure_kind")
        version = _int(data["disclosure_version"], field="disclosure_version")
        disclosure = Disclosure.objects.filter(kind=kind, version=version).first()
        if disclosure is None:
            raise NotFound(f"no {kind} disclosure version {version}", field="disclosure_version")
        ack = events.disclosure_acknowledge(
            customer=customer, disclosure=disclosure, channel=data.get("channel", "app"),
            shown_at=_moment(data["shown_at"], field="shown_at"), acknowledged_at=_moment(data["acknowledged_at"], field="acknowledged_at"),
        )
        out = {
            "id": ack.pk, "customer": customer.external_id, "disclosure_kind": disclosure.kind, "disclosure_version": disclosure.version,
            "channel": ack.channel, "shown_at": ack.shown_at, "acknowledged_at": ack.acknowledged_at,
        }
        return Response(s.AcknowledgementOut(out).data, status=201)


# --- reads ----------------------------------------------------------------------------------


class CustomerDecision(APIView):
    required_scopes = (Scope.DECISIONS_READ.value,)

    @extend_schema(responses={200: s.DecisionOut, **READ_ERRORS}, tags=["decisions"], summary="The customer's effective decision")
    def get(self, request, external_id: str):
        decision = effective_decision(external_id=external_id)
        return Response(s.DecisionOut(decision).data)


class CustomerDecisionHistory(ListAPIView):
    required_scopes = (Scope.DECISIONS_READ.value,)
    serializer_class = s.DecisionHistoryOut

    def get_queryset(self):
        return decision_history(external_id=self.kwargs["external_id"])

    @extend_schema(responses={200: s.DecisionHistoryOut(many=True), **READ_ERRORS}, tags=["decisions"],
                   summary="The customer's decisions, newest first (cursor-paginated)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class OpenAlerts(ListAPIView):
    required_scopes = (Scope.ALERTS_READ.value,)
    serializer_class = s.AlertOut

    def get_queryset(self):
        customer = self.request.query_params.get("customer")
        return open_alerts(customer_external_id=customer)

    @extend_schema(
        parameters=[OpenApiParameter("customer", str, OpenApiParameter.QUERY, required=False, description="only this customer's")],
        responses={200: s.AlertOut(many=True), **READ_ERRORS}, tags=["alerts"], summary="Open alerts, newest first (cursor-paginated)",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


# --- no such endpoint -----------------------------------------------------------------------


def _one_slash_off(request: HttpRequest) -> str | None:
    """The path with its trailing slash added or removed, if that is an API endpoint."""
    path, shown = request.path_info, request.path
    other, other_shown = (path[:-1], shown[:-1]) if path.endswith("/") else (f"{path}/", f"{shown}/")
    try:
        match = resolve(other)
    except Resolver404:
        return None
    return other_shown if match.namespace == "api" and match.url_name != "not-found" else None


@csrf_exempt  # a POST to a wrong path gets the JSON 404, not the CSRF page (DRF's views are exempt too)
def endpoint_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Every path under /api/ that no route matches: a JSON 404 in the API's error form, not the
    staff pages' HTML one, in any DEBUG mode. This catch-all makes every /api/ path "valid" to
    CommonMiddleware, so APPEND_SLASH's redirect is kept here for GET and HEAD (safe to follow);
    any other method gets the 404, naming the endpoint one slash away (Django would redirect a
    POST and lose its body, or raise under DEBUG)."""
    near = _one_slash_off(request)
    if near is not None and near.endswith("/") and settings.APPEND_SLASH and request.method in ("GET", "HEAD"):
        return HttpResponsePermanentRedirect(escape_leading_slashes(request.get_full_path(force_append_slash=True)))
    message = f"There is no endpoint at {request.path[:200]}."
    if near is not None:
        message += f" Did you mean {near[:200]}?"
    return JsonResponse({"code": "not_found", "message": message, "field": "path"}, status=404)
