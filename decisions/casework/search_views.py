"""The header's customer search: one match opens its profile, several a results page, none says so."""

from django.shortcuts import redirect
from django.views.generic import TemplateView

from riskops.core.views import RoleRequiredMixin

from decisions.presentation.texts import access_name
from .customer_search import MIN_PHONE_DIGITS, RESULT_CAP, customer_search
from .queue_views import customer_url


class CustomerSearchView(RoleRequiredMixin, TemplateView):
    """Every staff role may look a customer up: the profile it opens masks PII as usual."""

    template_name = "decisions/customer_search.html"

    def get(self, request, *args, **kwargs):
        found = customer_search(request.GET.get("q", ""))
        if found.total == 1:
            return redirect(customer_url(found.hits[0].external_id))
        rows = [{"hit": hit, "access_label": access_name(hit.access), "url": customer_url(hit.external_id)} for hit in found.hits]
        return self.render_to_response(
            self.get_context_data(found=found, rows=rows, cap=RESULT_CAP, min_digits=MIN_PHONE_DIGITS)
        )
