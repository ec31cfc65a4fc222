"""`Cache-Control: no-store` on every response the application renders.

Staff pages, the admin and the service API all answer about customers (names, national ids,
limits, decisions, notes, audit payloads) or about the book; none of them gains anything from a
copy kept by the browser, its back/forward cache or a proxy, and a kept copy outlives the session
that was allowed to see it. So the set is "everything Django renders" rather than a list of
personal-data views that a new page could be missing from. Static files are not affected:
WhiteNoise answers them before this middleware with their own long-lived, content-hashed headers
(docs/security.md, "Caching of personal data").
"""

from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Added to whatever the view said (an export's own no-store stays as it is); no-store
        # overrides any max-age or public a view might have set.
        patch_cache_control(response, no_store=True)
        return response
