"""Every URL pattern of the project, walked by every role with GET, POST and DELETE.

ACCESS below is the access policy, one row per URL name (or, for an unnamed pattern, its
route): the sample kwargs that build a URL for it and, for each method, the roles that may use
it. Everyone else must be refused (403 or 405) or sent to a login page, and a refused request
must never reach the platform: the emulator records every call and must have received none.

Adding a URL pattern? `test_every_url_pattern_has_a_row` fails until it has a row here.
"""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.urls import URLResolver, get_resolver, reverse

from conversations.models import AuditRecord
from tests.security.tally import COUNTS, send

ANONYMOUS, NO_ROLE = "anonymous", "no role"
ROLES = (ANONYMOUS, NO_ROLE, "Reviewer", "Lead", "Admin")
METHODS = ("GET", "POST", "DELETE")

ANYONE = frozenset(ROLES)
SIGNED_IN = ANYONE - {ANONYMOUS}
VIEWERS = frozenset({"Reviewer", "Lead", "Admin"})
LEADS = frozenset({"Lead", "Admin"})
ADMINS = frozenset({"Admin"})
# The admin site is for staff (is_staff), which none of the roles makes anyone.
STAFF_ONLY = frozenset()

CONVERSATION = "{conversation}"  # a seeded conversation, a different one for each request
AGENT = "{agent}"  # a seeded agent


@dataclass(frozen=True)
class Row:
    kwargs: dict = field(default_factory=dict)
    GET: frozenset = STAFF_ONLY
    POST: frozenset = STAFF_ONLY
    DELETE: frozenset = STAFF_ONLY
    query: str = ""  # added to GET requests
    data: dict = field(default_factory=dict)  # sent with POST requests
    # Logging out succeeds by ending the session and sending you to the login page, which
    # looks like a refusal: for these the walk checks that the session really ended.
    logs_out: bool = False


def admin_model(app_label, model):
    """The six URL patterns Django's admin adds for one registered model: staff only."""
    one = {"object_id": "1"}
    prefix = f"admin:{app_label}_{model}"
    return {
        f"{prefix}_changelist": Row(),
        f"{prefix}_add": Row(),
        f"{prefix}_history": Row(one),
        f"{prefix}_delete": Row(one),
        f"{prefix}_change": Row(one),
        f"admin/{app_label}/{model}/<path:object_id>/": Row(one),
    }


ACCESS = {
    "login": Row(GET=ANYONE, POST=ANYONE, DELETE=SIGNED_IN),  # signed-in users are sent home
    "logout": Row(POST=SIGNED_IN, logs_out=True),
    "healthz": Row(GET=ANYONE),  # load balancers probe without a session
    "readyz": Row(GET=ANYONE),
    "conversations:list": Row(GET=VIEWERS),
    "conversations:detail": Row({"conversation_id": CONVERSATION}, GET=VIEWERS),
    "conversations:audio": Row({"conversation_id": CONVERSATION}, GET=VIEWERS),
    "conversations:delete": Row(
        {"conversation_id": CONVERSATION},
        GET=ADMINS,
        POST=ADMINS,
        DELETE=ADMINS,
        data={"reason": "access walk"},
    ),
    "conversations:review": Row(
        {"conversation_id": CONVERSATION}, POST=VIEWERS, data={"status": "passed"}
    ),
    # Setting the status of a selection is a lead's call (a reviewer judges from the page).
    "conversations:bulk": Row(
        POST=LEADS, data={"ids": CONVERSATION, "action": "status", "status": "passed"}
    ),
    "conversations:bulk_delete": Row(POST=ADMINS, data={"ids": CONVERSATION}),
    "conversations:export": Row(GET=LEADS, query="format=csv"),
    "conversations:export_progress": Row(GET=LEADS, query="token=accesswalk"),
    "conversations:signed_url": Row({"agent_id": AGENT}, GET=ADMINS),
    "conversations:token": Row({"agent_id": AGENT}, GET=ADMINS),
    "conversations:audit": Row(GET=LEADS),
    "admin:index": Row(),
    "admin:login": Row(GET=ANYONE, POST=ANYONE),  # the form is open; it lets staff only in
    "admin:logout": Row(),
    "admin:password_change": Row(),
    "admin:password_change_done": Row(),
    "admin:autocomplete": Row(),
    "admin:jsi18n": Row(),
    "admin:view_on_site": Row({"content_type_id": "1", "object_id": "1"}),
    "admin:app_list": Row({"app_label": "conversations"}),
    "admin/(?P<url>.*)$": Row({"url": "nothing-here/"}),
    "admin:auth_user_password_change": Row({"id": "1"}),
    **admin_model("auth", "group"),
    **admin_model("auth", "user"),
    **admin_model("axes", "accessattempt"),
    **admin_model("axes", "accesslog"),
    **admin_model("axes", "accessfailurelog"),
    **admin_model("conversations", "auditrecord"),
}

EXPECTED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def url_patterns(patterns=None, prefix="", namespace=None):
    """(key, route, name) of every URL pattern, descending into included URLconfs."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part) or None
            yield from url_patterns(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            continue
        name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
        route = prefix + str(pattern.pattern)
        yield name or route, route, name


def build_path(route, name, kwargs):
    if name:
        return reverse(name, kwargs=kwargs)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: kwargs[m[1]], route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: kwargs[m[1]], path)
    return "/" + path.replace("^", "").replace("$", "")


def login_paths():
    # The admin sends a non-staff user who asks to log out of it to its index, which in turn
    # sends them to its login page.
    return {reverse("login"), reverse("admin:login"), reverse("admin:index")}


def refused(response):
    if response.status_code in (403, 405):
        return True
    location = urlsplit(response.get("Location", "")).path
    return response.status_code == 302 and location in login_paths()


def read_whole(response):
    """Run a streamed answer to its end (exports write their audit record then).

    The test client closes the response itself; closing it again here would send
    request_finished, which closes the test's database connection on PostgreSQL.
    """
    if response.streaming:
        b"".join(response.streaming_content)


def test_every_url_pattern_has_a_row():
    keys = [key for key, _, _ in url_patterns()]
    missing = [key for key in keys if key not in ACCESS]
    stale = [key for key in ACCESS if key not in keys]
    assert not missing, (
        f"URL patterns without an access rule: {missing}. Add a row for each to ACCESS at the "
        "top of tests/security/test_access_control.py: sample kwargs and who may use each method."
    )
    assert not stale, f"ACCESS has rows for URL patterns that no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_table_grants_and_refusals_never_reach_the_platform(
    role, client, make_user, emulator
):
    user = None if role == ANONYMOUS else make_user(None if role == NO_ROLE else role)
    kept = AuditRecord.objects.create(conversation_id="conv_kept", username="ann", outcome="failed")
    conversations = iter(emulator.conversation_ids())
    agent = emulator.agents[0][0]
    problems = []
    walked = 0
    for key, route, name in url_patterns():
        row = ACCESS.get(key)
        if row is None:
            continue  # reported by test_every_url_pattern_has_a_row
        for method in METHODS:
            sample = {CONVERSATION: next(conversations), AGENT: agent}
            kwargs = {k: sample.get(v, v) for k, v in row.kwargs.items()}
            data = {k: sample.get(v, v) for k, v in row.data.items()}
            path = build_path(route, name, kwargs)
            if method == "GET" and row.query:
                path = f"{path}?{row.query}"
            if user is not None:
                client.force_login(user)  # again: the walk logs out along the way
            emulator.clear_calls()
            response = send(client, method, path, **({"data": data} if method == "POST" else {}))
            read_whole(response)
            walked += 1
            allowed = role in getattr(row, method)
            where = f"{method} {path} as {role}"
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
            elif allowed and row.logs_out:
                if "_auth_user_id" in client.session or not refused(response):
                    problems.append(f"{where}: {response.status_code}, still logged in")
            elif allowed and refused(response):
                problems.append(f"{where}: refused ({response.status_code}) but the table allows")
            elif not allowed and not refused(response):
                problems.append(f"{where}: {response.status_code}, but the table refuses")
            elif not allowed and emulator.calls:
                problems.append(f"{where}: refused, yet the platform got {emulator.calls}")
            problems += [
                f"{where}: {header} is {response.get(header)!r}"
                for header, value in EXPECTED_HEADERS.items()
                if response.get(header) != value
            ]
            if "Content-Security-Policy" not in response:
                problems.append(f"{where}: no Content-Security-Policy")
    COUNTS["walked"] += walked
    assert walked >= len(ACCESS) * len(METHODS)
    assert not problems, "\n".join(problems)
    # Whatever the walk did, the audit log only grew.
    assert AuditRecord.objects.filter(pk=kept.pk, username="ann", outcome="failed").exists()
