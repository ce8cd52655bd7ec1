from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from conversations import errors, health

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
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
