from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from mozilla_django_oidc.views import OIDCLogoutView

from conversations import errors, health, sso

urlpatterns = [
    path("login/", sso.login, name="login"),
    # Ends the provider's session too when it started this one (OIDC_OP_LOGOUT_URL_METHOD).
    # Open to all, as Django's LogoutView: a session that expired must not log in to log out.
    path("logout/", login_not_required(OIDCLogoutView.as_view()), name="logout"),
    # Single sign-on: oidc/authenticate/, oidc/callback/ (conversations/sso.py).
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("", include("conversations.urls")),
]

# Each a page, or for htmx a fragment, with a sentence (conversations/errors.py).
handler400 = errors.bad_request
handler403 = errors.permission_denied
handler404 = errors.page_not_found
handler500 = health.server_error
