"""How the OpenAPI schema describes the API's authentication (imported in ApiConfig.ready)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "rk_<prefix>_<secret>",
            "description": "A service client's token, created in the admin (API tokens); scopes are the client's.",
        }
