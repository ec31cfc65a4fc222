from django.conf import settings

from .roles import user_roles


def roles(request):
    user = getattr(request, "user", None)
    return {"user_roles": user_roles(user) if user is not None and user.is_authenticated else []}


def profile(request):
    """`development_profile`: DEBUG is on (the demo), so base.html says so on every page."""
    return {"development_profile": settings.DEBUG}
