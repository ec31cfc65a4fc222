"""POST /api/v1/draw-checks/: allow / deny / review for a draw at checkout (draws/services.py)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import idempotent
from api.permissions import HasScope
from api.views import IDEMPOTENCY_PARAM

from .models import DrawDecision
from .services import draw_check


class DrawCheckErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(required=False)


class DrawCheckView(APIView):
    """May this customer draw this amount now? Answers in one short read-only transaction and
    records the check (append-only). Every field error is a 400 naming the field; an unknown
    customer is a 404."""

    required_scopes = ("draws:check",)
    permission_classes = [HasScope]

    class DrawCheckInSerializer(serializers.Serializer):
        # For the schema: the service checks the body itself, so every error names its field
        # the same way on every path (accounts/validation.py rules: exact decimals, no floats).
        customer = serializers.CharField(max_length=40, help_text="The customer's external id.")
        amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="A positive decimal, at most 2 places.")
        currency = serializers.CharField(max_length=3, help_text="The book's currency (settings.RISKOPS_CURRENCY).")
        channel = serializers.CharField(max_length=20)
        merchant_category = serializers.CharField(max_length=40, required=False, allow_null=True)
        device_id = serializers.CharField(max_length=64, required=False, allow_null=True)

    class DrawCheckOutSerializer(serializers.Serializer):
        class DrawReasonSerializer(serializers.Serializer):
            code = serializers.CharField()
            text = serializers.CharField()

        decision = serializers.ChoiceField(choices=DrawDecision.values)
        reasons = DrawReasonSerializer(many=True)
        available = serializers.DecimalField(max_digits=14, decimal_places=2)
        check_id = serializers.IntegerField(source="pk")

    @extend_schema(
        operation_id="draw_check",
        tags=["draw-checks"],
        parameters=[IDEMPOTENCY_PARAM],
        summary="May this customer draw this amount now? (allow / deny / review)",
        request=DrawCheckInSerializer,
        responses={
            200: DrawCheckOutSerializer,
            400: OpenApiResponse(DrawCheckErrorSerializer, description="A field is missing or invalid (named in `field`)."),
            404: OpenApiResponse(DrawCheckErrorSerializer, description="Unknown customer."),
        },
    )
    def post(self, request: Request) -> Response:
        client = getattr(request.user, "client", None)  # an ApiPrincipal (only clients may write)
        # A retried check under the same Idempotency-Key returns the first answer and is neither
        # recorded nor counted again (velocity); without the header every POST is a new check.
        return idempotent(request, client, lambda: self._check(request, client))

    def _check(self, request: Request, client) -> Response:
        check = draw_check(data=request.data, client_ref=client.name if client is not None else str(request.user))
        return Response(self.DrawCheckOutSerializer(check).data, status=status.HTTP_200_OK)
