"""riskops/core/domain_errors.py: one answer on every page for a service's refusal."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from riskops.core.domain_errors import answers_domain_errors, domain_error_on_form
from riskops.core.exceptions import FourEyesViolation, ValidationFailed


def _request():
    request = RequestFactory().post("/somewhere/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_a_refusal_is_flashed_and_the_user_sent_where_the_page_says():
    @answers_domain_errors("/queue/")
    def handler(request):
        raise ValidationFailed("Say why, in a note.", field="note")

    request = _request()
    response = handler(request)
    assert (response.status_code, response["Location"]) == (302, "/queue/")
    assert [m.message for m in get_messages(request)] == ["Say why, in a note."]


def test_the_target_can_depend_on_the_handlers_arguments_and_success_passes_through():
    @answers_domain_errors(lambda request, pk: f"/alerts/{pk}/")
    def handler(request, pk):
        if pk == 2:
            return "done"
        raise ValidationFailed("no")

    assert handler(_request(), 2) == "done"
    assert handler(_request(), 7)["Location"] == "/alerts/7/"


def test_a_403_stays_a_403_where_the_page_forbids_and_an_admin_action_gets_none():
    @answers_domain_errors("/x/", forbid=True)
    def forbidding(request):
        raise FourEyesViolation("someone else must approve")

    with pytest.raises(PermissionDenied):
        forbidding(_request())

    @answers_domain_errors(None)
    def action(modeladmin, request, queryset):
        raise ValidationFailed("not for these rows")

    request = _request()
    assert action(object(), request, []) is None
    assert [m.message for m in get_messages(request)] == ["not for these rows"]


class NoteForm(forms.Form):
    note = forms.CharField(required=False)


def test_on_a_form_the_refusal_lands_on_the_field_it_names_or_on_top():
    form = NoteForm(data={"note": ""})
    form.is_valid()
    domain_error_on_form(form, ValidationFailed("Say why.", field="note"))
    domain_error_on_form(form, ValidationFailed("Something else.", field="elsewhere"))
    assert form.errors["note"] == ["Say why."] and form.non_field_errors() == ["Something else."]
    with pytest.raises(PermissionDenied):
        domain_error_on_form(form, FourEyesViolation("no"))
