"""One answer for a service's refusal on a page: a `DomainError` (riskops.core.exceptions) raised by
a service becomes what the user reads, the same way on every HTML view and admin action.

- `answers_domain_errors(redirect_to)`: a decorator for a view's handler (a method or a function)
  or an admin action: the error's message is flashed (the admin's `message_user` is the same
  messages framework) and the user is sent to `redirect_to` — a URL, a URL name, a callable given
  the handler's own arguments, or None for an admin action (Django goes back to the changelist).
  With `forbid=True` a 403 refusal stays a 403 (PermissionDenied) instead of a message.
- `domain_error_on_form(form, exc)`: for a page that shows its form again: a 403 refusal is a 403,
  any other refusal an error on the form (on the field it names when the form has that field).

The JSON API answers DomainErrors itself (riskops/core/api.py); management commands turn them into
CommandError.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from .exceptions import DomainError


def _request(args: tuple) -> HttpRequest:
    return next(arg for arg in args if isinstance(arg, HttpRequest))


def domain_error_flash(request: HttpRequest, exc: DomainError, *, forbid: bool = False) -> None:
    """Flash the refusal's message; with `forbid`, a 403 refusal is raised as PermissionDenied."""
    if forbid and exc.status_code == 403:
        raise PermissionDenied(exc.message)
    messages.error(request, exc.message)


def answers_domain_errors(redirect_to: str | Callable[..., str] | None, *, forbid: bool = False) -> Callable:
    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> HttpResponse | None:
            try:
                return handler(*args, **kwargs)
            except DomainError as exc:
                domain_error_flash(_request(args), exc, forbid=forbid)
                if redirect_to is None:
                    return None
                return redirect(redirect_to(*args, **kwargs) if callable(redirect_to) else redirect_to)

        return wrapper

    return decorate


def domain_error_on_form(form: Any, exc: DomainError, *, on_field: bool = True) -> None:
    if exc.status_code == 403:
        raise PermissionDenied(exc.message)
    form.add_error(exc.field if on_field and exc.field in form.fields else None, exc.message)
