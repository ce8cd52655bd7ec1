"""Start tests/oidc/provider.mjs, a real OpenID Connect provider (node-oidc-provider)."""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

SCRIPT = Path(__file__).resolve().parent / "provider.mjs"
ROOT = SCRIPT.parent.parent.parent
CLIENT_ID = "review"
CLIENT_SECRET = "review-test-secret"
ROLE_MAP = {"qa-admins": "Admin", "qa-leads": "Lead", "qa": "Reviewer"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_provider(dashboard_url):
    """The provider's issuer URL while it runs; its redirect URIs are under `dashboard_url`."""
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules" / "oidc-provider").is_dir():
        message = "node or node_modules/oidc-provider is missing (make test runs npm ci)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    # Its errors go to a file, not a pipe: a pipe nobody reads while the tests run fills up
    # (64 KiB of warnings) and then stops the provider mid-test.
    with tempfile.TemporaryFile(mode="w+") as errors:
        process = subprocess.Popen(
            [node, str(SCRIPT), str(port), dashboard_url.rstrip("/")],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            text=True,
        )
        try:
            wait_for_discovery(issuer, process, errors)
            yield issuer
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for_discovery(issuer, process, errors):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors.seek(0)
            pytest.fail(f"the OpenID Connect provider exited: {errors.read()}")
        with contextlib.suppress(requests.RequestException):
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1)
            if response.ok:
                return
        time.sleep(0.1)
    pytest.fail("the OpenID Connect provider did not answer within 15 s")


def point_settings_at(settings, issuer, **overrides):
    """The OIDC settings as dashboard/settings.py makes them from the environment."""
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_ISSUER = issuer
    settings.OIDC_PROVIDER_NAME = "Test SSO"
    settings.OIDC_RP_SCOPES = "openid profile email groups"
    settings.OIDC_ROLE_MAP = dict(ROLE_MAP)
    policy = settings.CONTENT_SECURITY_POLICY
    settings.CONTENT_SECURITY_POLICY = {
        **policy,
        "DIRECTIVES": {
            **policy["DIRECTIVES"],
            "form-action": [*policy["DIRECTIVES"]["form-action"], issuer],
        },
    }
    for name, value in overrides.items():
        setattr(settings, name, value)
