"""The access policy: who may use each of the project's URL patterns, and with which method.

ACCESS has one row per URL name (or, for an unnamed pattern, its route): the sample kwargs
that build a URL for it and, for each method, the roles that may use it. Everyone else must
be refused. test_access_control walks it as every role; test_hostile_ids asks every URL with
an id as the role that may use it.

Adding a URL pattern? `test_every_url_pattern_has_a_row` fails until it has a row here.
"""

from dataclasses import dataclass, field

from django.urls import URLResolver, get_resolver

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
# A bulk job nobody started: those who may see jobs get 404, everyone else a refusal first.
JOB = "00000000-0000-4000-8000-000000000000"
# A scorecard, queue, round or comment nobody made.
MISSING = "999999"


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
    # Single sign-on (conversations/sso.py): open to all, a 404 page while it is not set up.
    "oidc_authentication_init": Row(GET=ANYONE),
    "oidc_authentication_callback": Row(GET=ANYONE),
    "oidc_logout": Row(POST=SIGNED_IN, logs_out=True),
    "healthz": Row(GET=ANYONE),  # load balancers probe without a session
    "readyz": Row(GET=ANYONE),
    "conversations:list": Row(GET=VIEWERS),
    "conversations:index_refresh": Row(POST=VIEWERS),
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
    "conversations:comments": Row(
        {"conversation_id": CONVERSATION}, POST=VIEWERS, data={"body": "access walk"}
    ),
    # No such comment: those who may comment get 404, everyone else a refusal first.
    "conversations:comment_edit": Row({"pk": MISSING}, POST=VIEWERS, data={"body": "walk"}),
    "conversations:comment_delete": Row({"pk": MISSING}, POST=VIEWERS),
    # Setting the status of a selection is a lead's call (a reviewer judges from the page).
    "conversations:bulk": Row(
        POST=LEADS, data={"ids": CONVERSATION, "action": "status", "status": "passed"}
    ),
    "conversations:bulk_delete": Row(POST=ADMINS, data={"ids": CONVERSATION}),
    # A job's page and its cancel are its owner's (and the audit log's readers'): 404 to others.
    "conversations:jobs": Row(GET=VIEWERS),
    "conversations:job": Row({"job_id": JOB}, GET=VIEWERS),
    "conversations:job_cancel": Row({"job_id": JOB}, POST=VIEWERS),
    "conversations:export": Row(GET=LEADS, query="format=csv"),
    "conversations:export_progress": Row(GET=LEADS, query="token=accesswalk"),
    "conversations:signed_url": Row({"agent_id": AGENT}, GET=ADMINS),
    "conversations:token": Row({"agent_id": AGENT}, GET=ADMINS),
    "conversations:audit": Row(GET=LEADS),
    "conversations:analytics": Row(GET=LEADS),
    "conversations:analytics_csv": Row({"chart": "calls"}, GET=LEADS),
    # Scorecards are a lead's to define; scoring a call is a reviewer's.
    "conversations:score": Row({"conversation_id": CONVERSATION}, POST=VIEWERS),
    "conversations:scorecards": Row(GET=LEADS),
    "conversations:scorecard_new": Row(GET=LEADS, POST=LEADS),
    # No such scorecard, queue or round: those who may use it get 404, others a refusal first.
    "conversations:scorecard_edit": Row({"scorecard_id": MISSING}, GET=LEADS, POST=LEADS),
    "conversations:queues": Row(GET=VIEWERS),
    "conversations:queue_new": Row(GET=LEADS, POST=LEADS),
    "conversations:queue": Row({"pk": MISSING}, GET=VIEWERS),
    "conversations:queue_next": Row({"pk": MISSING}, POST=VIEWERS),
    "conversations:queue_close": Row({"pk": MISSING}, POST=LEADS),
    "conversations:calibrations": Row(GET=VIEWERS),
    "conversations:calibration_new": Row(GET=LEADS, POST=LEADS),
    "conversations:calibration": Row({"pk": MISSING}, GET=VIEWERS),
    "conversations:calibration_close": Row({"pk": MISSING}, POST=LEADS),
    "conversations:calibration_score": Row(
        {"pk": MISSING, "conversation_id": CONVERSATION}, POST=VIEWERS
    ),
    "conversations:calibration_agreed": Row(
        {"pk": MISSING, "conversation_id": CONVERSATION}, POST=LEADS
    ),
    # The team page is an admin's; no such user: admins get 404, everyone else a refusal first.
    "conversations:team": Row(GET=ADMINS),
    "conversations:team_add": Row(POST=ADMINS, data={"username": "walker", "role": "Reviewer"}),
    "conversations:team_role": Row({"pk": MISSING}, POST=ADMINS, data={"role": "Lead"}),
    "conversations:team_deactivate": Row({"pk": MISSING}, POST=ADMINS),
    "conversations:team_reactivate": Row({"pk": MISSING}, POST=ADMINS),
    "conversations:team_password": Row({"pk": MISSING}, POST=ADMINS),
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
