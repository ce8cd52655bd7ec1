"""Single sign-on with OpenID Connect, through mozilla-django-oidc; and the login page.

Settings: the OIDC block of dashboard/settings.py (on when OIDC_CLIENT_ID is set). The provider's
endpoints come from `<OIDC_ISSUER>/.well-known/openid-configuration`, read at the first sign-in
and kept for an hour, so that a provider that is down delays no start-up and a new signing key or
endpoint is picked up without a restart.

A person is matched by the provider's `sub` (models.SignOn), the one claim the standard promises
never to change or be given to someone else. Their first sign-in makes an account named by the
username claim (OIDC_USERNAME_CLAIM, whatever its case), the name shown everywhere (audit log,
assignee, reviewer), or takes up a single sign-on account of that name that no provider account
holds yet (one made before `sub` was kept). Every sign-in gives exactly one role: the
highest that OIDC_ROLE_MAP gives to one of their groups (OIDC_GROUPS_CLAIM). Someone in no mapped
group is refused with a page that says so. A local account (one with a usable password) is never
taken over by a sign-in: the provider might let anyone choose a username such as "admin".
"""

import logging
import threading
import time
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, SuspiciousOperation, ValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from conversations.models import SignOn
from conversations.roles import ROLES

logger = logging.getLogger(__name__)

DISCOVERY_SECONDS = 3600
_discovered = {}
_discovery_lock = threading.Lock()


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be read or is not usable."""


class SignInRefused(Exception):
    """The provider vouched for someone this dashboard does not let in; the message says why."""


def sso_enabled():
    return bool(settings.OIDC_RP_CLIENT_ID)


def provider_configuration():
    """The provider's discovery document, read once an hour per issuer.

    https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
    """
    issuer = settings.OIDC_ISSUER
    with _discovery_lock:
        found = _discovered.get(issuer)
        if found and found[0] > time.monotonic():
            return found[1]
    url = f"{issuer}/.well-known/openid-configuration"
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(
            f"{url} did not answer with a discovery document ({exc})"
        ) from exc
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ProviderUnavailable(f"{url} names another issuer than OIDC_ISSUER ({issuer})")
    needed = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
    missing = [key for key in needed if not isinstance(document.get(key), str)]
    if missing:
        raise ProviderUnavailable(f"{url} lacks {', '.join(missing)}")
    with _discovery_lock:
        _discovered[issuer] = (time.monotonic() + DISCOVERY_SECONDS, document)
    return document


def role_for_groups(groups):
    """The highest role OIDC_ROLE_MAP gives to any of these groups, or None."""
    mapped = {settings.OIDC_ROLE_MAP[g] for g in groups if g in settings.OIDC_ROLE_MAP}
    # ROLES is in ascending order: Reviewer, Lead, Admin.
    ranked = [role for role in ROLES if role in mapped]
    return ranked[-1] if ranked else None


def groups_from_claims(claims):
    """The groups claim as a list of names: providers send a list, or one name as a string."""
    value = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class SSOBackend(OIDCAuthenticationBackend):
    """Sign-in through the provider; and, when LOCAL_LOGIN is off, the refusal of passwords.

    Listed before RoleBackend (AUTHENTICATION_BACKENDS) so that its refusal stops a password
    before RoleBackend checks it, on the login page and on the admin site alike. Permissions
    are RoleBackend's alone: this backend grants none, so a check costs no extra query.
    """

    def __init__(self, *args, **kwargs):
        # The parent reads the provider's endpoints here; they are discovered in authenticate.
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        self.UserModel = get_user_model()

    def authenticate(self, request, password=None, **kwargs):
        if password is not None:
            if not settings.LOCAL_LOGIN:
                # Stops django.contrib.auth.authenticate here: no other backend checks it.
                raise PermissionDenied("Passwords are turned off (LOCAL_LOGIN).")
            return None
        if not sso_enabled() or request is None or "code" not in request.GET:
            return None
        try:
            document = provider_configuration()
            self.OIDC_OP_TOKEN_ENDPOINT = document["token_endpoint"]
            self.OIDC_OP_USER_ENDPOINT = document["userinfo_endpoint"]
            self.OIDC_OP_JWKS_ENDPOINT = document["jwks_uri"]
            return super().authenticate(request, **kwargs)
        except SignInRefused as exc:
            request.sso_refusal = str(exc)
        except (
            ProviderUnavailable,
            requests.RequestException,
            jwt.PyJWTError,
            ValueError,
            KeyError,
        ) as exc:
            logger.warning("Sign-in through %s failed: %s", settings.OIDC_ISSUER, exc)
            request.sso_refusal = (
                f"{settings.OIDC_PROVIDER_NAME} could not be reached or did not confirm the "
                "sign-in. Try again in a moment."
            )
        return None

    def verify_token(self, token, **kwargs):
        """The ID token's signature, expiry and nonce (the library's), and who it is from and
        for: the library checks neither `iss` nor `aud`.

        https://openid.net/specs/openid-connect-core-1_0.html#IDTokenValidation
        """
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if str(payload.get("iss", "")).rstrip("/") != settings.OIDC_ISSUER:
            raise SuspiciousOperation("The ID token is from another issuer.")
        if settings.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is for another client.")
        if not isinstance(payload.get("sub"), str) or not payload["sub"]:
            raise SuspiciousOperation("The ID token names no subject.")
        return payload

    def get_userinfo(self, access_token, id_token, payload):
        claims = super().get_userinfo(access_token, id_token, payload)
        # The standard's rule: a UserInfo answer about someone else is not to be used.
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            raise SignInRefused(
                f"{settings.OIDC_PROVIDER_NAME} answered about someone else. Sign in again."
            )
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        # The parent turns a SuspiciousOperation into a silent None: our refusals must be seen.
        # One transaction: an account is never left made but without its role.
        try:
            with transaction.atomic():
                user = super().get_or_create_user(access_token, id_token, payload)
        except IntegrityError:
            # The same person's first sign-in in two tabs at once: the other one made it.
            raise SignInRefused("The sign-in could not be completed. Sign in again.") from None
        if user is None:
            raise SignInRefused("No account could be matched to this sign-in.")
        return user

    def verify_claims(self, claims):
        subject = claims.get("sub")
        if not isinstance(subject, str) or not 0 < len(subject) <= 255:
            raise SignInRefused(
                f"{settings.OIDC_PROVIDER_NAME} did not say who you are (no usable sub "
                "claim). Ask an administrator."
            )
        username = claims.get(settings.OIDC_USERNAME_CLAIM)
        field = self.UserModel._meta.get_field(self.UserModel.USERNAME_FIELD)
        if not isinstance(username, str) or not username:
            raise SignInRefused(
                f"{settings.OIDC_PROVIDER_NAME} did not say who you are "
                f"(no {settings.OIDC_USERNAME_CLAIM} claim). Ask an administrator."
            )
        try:
            field.run_validators(username)
        except ValidationError:
            raise SignInRefused(
                f"The user name “{username}” from {settings.OIDC_PROVIDER_NAME} is not one "
                "this dashboard accepts. Ask an administrator."
            ) from None
        role_from_claims(claims)
        return True

    def filter_users_by_claims(self, claims):
        held = (
            SignOn.objects.filter(issuer=settings.OIDC_ISSUER, subject=claims["sub"])
            .select_related("user")
            .first()
        )
        if held is not None:
            # Whatever name the provider now gives: a renamed person keeps their account.
            if not held.user.is_active:
                raise SignInRefused("This account is deactivated. Ask an administrator.")
            return [held.user]
        username = claims[settings.OIDC_USERNAME_CLAIM]
        # Whatever the case: "Admin" must not pass for the local "admin" beside it (the team
        # page too takes them for one person), and a provider that changes a name's case
        # (some send an address as typed) must not make a second account.
        lookup = {f"{self.UserModel.USERNAME_FIELD}__iexact": username}
        users = list(self.UserModel.objects.filter(**lookup))
        for user in users:
            if user.has_usable_password():
                raise SignInRefused(
                    f"A local account named {user.get_username()} already exists. An "
                    "administrator can remove its password (it then signs in only here) or "
                    "rename it."
                )
            if SignOn.objects.filter(user=user).exists():
                # Taking a name someone else had is no way into their account.
                raise SignInRefused(
                    f"The account named {user.get_username()} belongs to another "
                    f"{settings.OIDC_PROVIDER_NAME} account. Ask an administrator."
                )
            if not user.is_active:
                raise SignInRefused("This account is deactivated. Ask an administrator.")
        if len(users) > 1:
            # Made before names were matched whatever their case: which one is this person's
            # is for an administrator to say, not for a guess.
            raise SignInRefused(
                f"Several accounts are named {username} (in upper or lower case). Ask an "
                "administrator to rename or remove all but one."
            )
        return users

    def create_user(self, claims):
        user = self.UserModel(
            **{self.UserModel.USERNAME_FIELD: claims[settings.OIDC_USERNAME_CLAIM]}
        )
        # Never a password: this account signs in through the provider only.
        user.set_unusable_password()
        return self.update_user(user, claims)

    def update_user(self, user, claims):
        """Names, verified email and role from the claims, on every sign-in."""
        if claims.get("email_verified") is True and isinstance(claims.get("email"), str):
            user.email = claims["email"][:254]
        for field, claim in (("first_name", "given_name"), ("last_name", "family_name")):
            if isinstance(claims.get(claim), str):
                setattr(user, field, claims[claim][:150])
        user.save()
        SignOn.objects.get_or_create(
            user=user, defaults={"issuer": settings.OIDC_ISSUER, "subject": claims["sub"]}
        )
        role = role_from_claims(claims)
        user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
        user.groups.add(Group.objects.get(name=role))
        return user

    def get_user(self, user_id):
        # Django's: a deactivated user's session ends at the next request.
        return super(OIDCAuthenticationBackend, self).get_user(user_id)

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def get_all_permissions(self, user_obj, obj=None):
        return set()


def role_from_claims(claims):
    role = role_for_groups(groups_from_claims(claims))
    if role is None:
        raise SignInRefused(
            f"Your {settings.OIDC_PROVIDER_NAME} account is in no group that has a role in "
            "Conversation Review. Ask an administrator to add you to one."
        )
    return role


def is_sso_callback(request, credentials=None):
    """AXES_WHITELIST_CALLABLE: the provider's answer is not a password to count or lock out."""
    return request is not None and request.path == reverse("oidc_authentication_callback")


def logout_url(request):
    """OIDC_OP_LOGOUT_URL_METHOD: where logging out goes, the provider's logout for its sessions.

    https://openid.net/specs/openid-connect-rpinitiated-1_0.html#RPLogout
    """
    login = resolve_url(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get("oidc_id_token")
    if not id_token or not sso_enabled():
        return login
    try:
        end_session = provider_configuration().get("end_session_endpoint")
    except ProviderUnavailable as exc:
        logger.warning("Logged out here only: %s", exc)
        return login
    if not isinstance(end_session, str):
        return login
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.OIDC_RP_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(login),
        }
    )
    return f"{end_session}{'&' if '?' in end_session else '?'}{query}"


def render_login(request, *, error="", status=200):
    """The login page with a sentence instead of the form's errors: refused, unavailable."""
    return render(request, "registration/login.html", login_context(error), status=status)


def login_context(error=""):
    return {
        "sso_enabled": sso_enabled(),
        "sso_provider_name": settings.OIDC_PROVIDER_NAME,
        "local_login": settings.LOCAL_LOGIN,
        "sso_error": error,
    }


@login_not_required
def login(request):
    """The login page: the provider's button when SSO is on, the password form unless off.

    Django's LoginView answers every method (it sends a signed-in user home first).
    """
    if request.method == "POST" and not settings.LOCAL_LOGIN:
        return render_login(
            request,
            error=f"Passwords are turned off here: sign in with {settings.OIDC_PROVIDER_NAME}.",
            status=403,
        )
    view = auth_views.LoginView.as_view(
        redirect_authenticated_user=True, extra_context=login_context()
    )
    return view(request)


def not_set_up(request):
    return render_login(request, error="Single sign-on is not set up.", status=404)


# Open to all, as Django's own LoginView (LoginRequiredMiddleware).
@method_decorator(login_not_required, name="dispatch")
class SSOAuthenticateView(OIDCAuthenticationRequestView):
    """OIDC_AUTHENTICATE_CLASS: sends the browser to the provider, its endpoint discovered."""

    def __init__(self, *args, **kwargs):
        # The parent reads OIDC_OP_AUTHORIZATION_ENDPOINT here, which discovery replaces.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID

    def get(self, request):
        if not sso_enabled():
            return not_set_up(request)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_configuration()["authorization_endpoint"]
        except ProviderUnavailable as exc:
            logger.warning("Sign-in through %s unavailable: %s", settings.OIDC_ISSUER, exc)
            return render_login(
                request,
                error=f"{settings.OIDC_PROVIDER_NAME} cannot be reached. Try again in a moment.",
                status=503,
            )
        return super().get(request)


@method_decorator(login_not_required, name="dispatch")
class SSOCallbackView(OIDCAuthenticationCallbackView):
    """OIDC_CALLBACK_CLASS: the provider's answer; a refusal is the login page saying why."""

    def get(self, request):
        if not sso_enabled():
            return not_set_up(request)
        try:
            return super().get(request)
        except SuspiciousOperation:
            # An answer to no sign-in started in this browser: an old tab, a replay, Back.
            return render_login(
                request,
                error="That sign-in had expired or could not be verified. Sign in again.",
                status=400,
            )

    def login_failure(self):
        if self.request.GET.get("error"):
            message = f"{settings.OIDC_PROVIDER_NAME} did not sign you in."
        else:
            message = getattr(
                self.request, "sso_refusal", "The sign-in could not be completed. Sign in again."
            )
        return render_login(self.request, error=message, status=403)
