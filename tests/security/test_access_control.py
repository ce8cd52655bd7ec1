"""Every URL pattern of the project, walked by every role with GET, POST and DELETE.

The access policy is ACCESS in tests/security/access.py, one row per URL name (or, for an
unnamed pattern, its route): the sample kwargs that build a URL for it and, for each method,
the roles that may use it. Everyone else must be refused (403 or 405) or sent to a login
page, and a refused request must never reach the platform: the emulator records every call
and must have received none.

Adding a URL pattern? `test_every_url_pattern_has_a_row` fails until it has a row there.
"""

import itertools
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from conversations.models import AuditRecord
from tests.helpers import read_whole
from tests.security.access import (
    ACCESS,
    AGENT,
    ANONYMOUS,
    CONVERSATION,
    METHODS,
    NO_ROLE,
    ROLES,
    url_patterns,
)
from tests.security.tally import COUNTS, send

EXPECTED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


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


def test_every_url_pattern_has_a_row():
    keys = [key for key, _, _ in url_patterns()]
    missing = [key for key in keys if key not in ACCESS]
    stale = [key for key in ACCESS if key not in keys]
    assert not missing, (
        f"URL patterns without an access rule: {missing}. Add a row for each to ACCESS in "
        "tests/security/access.py: sample kwargs and who may use each method."
    )
    assert not stale, f"ACCESS has rows for URL patterns that no longer exist: {stale}"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_exactly_what_the_table_grants_and_refusals_never_reach_the_platform(
    role, client, make_user, emulator
):
    user = None if role == ANONYMOUS else make_user(None if role == NO_ROLE else role)
    kept = AuditRecord.objects.create(conversation_id="conv_kept", username="ann", outcome="failed")
    # A different conversation for each request while they last (a deletion removes one).
    conversations = itertools.cycle(emulator.conversation_ids())
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
