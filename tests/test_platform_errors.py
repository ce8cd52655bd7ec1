"""What people see when the platform fails: a clear page or fragment, never a 500."""

import re

import pytest
import responses

pytestmark = pytest.mark.django_db

FAULTS = [
    ("503", 502, "unavailable"),
    ("500", 502, "unavailable"),
    ("429", 503, "busy"),
    ("401", 502, "tell an administrator"),
    ("html", 502, "unavailable"),
    ("truncated", 502, "unavailable"),
    ("redirect", 502, "unavailable"),
    ("hang", 504, "did not answer in time"),
]


@pytest.mark.parametrize(("fault", "status", "words"), FAULTS)
def test_the_list_explains_a_failing_platform(as_role, emulator, settings, fault, status, words):
    settings.XUNA_API_TIMEOUT = 1.0
    emulator.set_fault("list", fault, seconds=5)
    response = as_role("Reviewer").get("/")
    assert response.status_code == status
    assert words in response.content.decode()


@pytest.mark.parametrize(("fault", "status", "words"), FAULTS[:4])
def test_htmx_requests_get_an_error_fragment(as_role, emulator, fault, status, words):
    emulator.set_fault("list", fault)
    response = as_role("Reviewer").get("/?cursor=abc", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == status
    assert "<html" not in html
    assert 'role="alert"' in html


def test_a_401_from_the_platform_is_logged_as_a_configuration_error(as_role, emulator, caplog):
    emulator.set_fault("get", "401")
    response = as_role("Reviewer").get(f"/conversations/{emulator.conversation_ids()[0]}/")
    assert "tell an administrator" in response.content.decode()
    assert "log in" not in response.content.decode().lower().split("</header>")[-1]
    assert any("Configuration error" in r.getMessage() for r in caplog.records)


def test_an_unreachable_platform_is_a_502(as_role, emulator, settings):
    settings.XUNA_API_BASE_URL = "http://127.0.0.1:9"
    response = as_role("Reviewer").get("/")
    assert response.status_code == 502


@pytest.fixture
def refusing_platform(emulator, settings):
    """A platform that is up and refuses every request as made (422), as a platform of
    another version might."""
    settings.XUNA_API_BASE_URL = "https://api.test"
    with responses.RequestsMock(assert_all_requests_are_fired=False) as platform:
        platform.add(
            responses.GET,
            re.compile(r"https://api\.test/.*"),
            status=422,
            json={"detail": {"status": "invalid_request"}},
        )
        yield platform


@pytest.mark.parametrize("path", ["/", "/conversations/conv_1/"])
def test_a_refused_request_reads_as_refused_not_unavailable(as_role, refusing_platform, path):
    response = as_role("Reviewer").get(path)
    main = response.content.decode().split("<main")[1]
    assert response.status_code == 502
    assert "The platform refused the request" in main
    assert "unavailable" not in main
    assert "tell an administrator" in main


def test_a_refused_htmx_request_gets_a_refused_fragment_not_unavailable(as_role, refusing_platform):
    response = as_role("Admin").get("/agents/agent_1/signed-url", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 502
    assert "<html" not in html
    assert 'role="alert"' in html
    assert "The platform refused the request" in html
    assert "unavailable" not in html
