"""The champion-and-challenger page (/models/challenger/) and its two actions, attach and detach.

Risk admins only (they attach and detach; the comparison is theirs to read). The page calls one
selector (challenger_selectors.py); each action one service
(decisions/governance/services/challenger.py) and answers with a redirect and a message.
"""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from decisions.governance.services.challenger import challenger_attach, challenger_detach
from decisions.models import PolicyVersion
from riskops.core.domain_errors import answers_domain_errors
from riskops.core.exceptions import NotFound, ValidationFailed
from riskops.core.roles import RISK_ADMIN
from riskops.core.views import RoleRequiredMixin

from .challenger_charts import challenger_charts
from .challenger_selectors import challenger_page

PAGE = "modelling:challenger"


class ChallengerView(RoleRequiredMixin, TemplateView):
    allowed_roles = (RISK_ADMIN,)
    template_name = "modelling/challenger.html"

    def get_context_data(self, **kwargs):
        page = challenger_page()
        return super().get_context_data(page=page, charts=challenger_charts(page.swaps) if page.swaps else [], **kwargs)


def _version(raw: str) -> PolicyVersion:
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Choose a policy version to attach."), field="version") from None
    version = PolicyVersion.objects.filter(pk=pk).defer("body").first()
    if version is None:
        raise NotFound(_("No such policy version."), field="version")
    return version


class ChallengerAttachView(RoleRequiredMixin, View):
    """POST: attach the chosen draft or retired version as the challenger."""

    allowed_roles = (RISK_ADMIN,)

    @answers_domain_errors(PAGE, forbid=True)
    def post(self, request):
        attachment = challenger_attach(version=_version(request.POST.get("version")), actor=request.user)
        messages.success(request, _("Policy v%(version)s is attached as the challenger: the next nightly run scores it in shadow.")
                         % {"version": attachment.version.version})
        return redirect(PAGE)


class ChallengerDetachView(RoleRequiredMixin, View):
    """POST: detach the challenger; its shadow rows stay."""

    allowed_roles = (RISK_ADMIN,)

    @answers_domain_errors(PAGE, forbid=True)
    def post(self, request):
        attachment = challenger_detach(actor=request.user)
        messages.success(request, _("Policy v%(version)s is detached: nightly runs no longer score it.") % {"version": attachment.version.version})
        return redirect(PAGE)
