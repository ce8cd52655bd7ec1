"""The one way to the platform: an HTTP request with its key, deadline, retries and errors.

`request` makes an API call and returns its JSON; `open_stream` makes a GET whose body the
caller streams (a recording). Both go through `_send`, which owns the pooled session, the
key header (sent to the configured API origin only), one total deadline per call, retries
of passing failures, and the mapping of every failure to a `XunaError` (conversations/
exceptions.py). Settings are read at call time from dashboard/settings.py, which defines
and checks each of them. Only the client calls this module (docs/api.md).
"""

import email.utils
import json
import logging
import math
import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter

from conversations.exceptions import (
    AuthenticationFailed,
    NotFound,
    RangeNotSatisfiable,
    RateLimited,
    RequestRefused,
    UpstreamTimeout,
    UpstreamUnavailable,
    XunaError,
)

logger = logging.getLogger(__name__)

MAX_RETRIES = 2
RETRY_METHODS = frozenset({"GET", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.2
RETRY_AFTER_CAP = 2.0
CHUNK_SIZE = 64 * 1024
ERROR_BODY_LIMIT = 64 * 1024
CONTENT_RANGE_RE = re.compile(r"bytes (?:\d+-\d+|\*)/(?:\d+|\*)")
ERROR_CODE_RE = re.compile(r"[a-z0-9_]{1,64}")
DEFAULT_PORTS = {"http": 80, "https": 443}
# The error statuses with a meaning of their own; _classify says what the others mean. A 404
# is NotFound whatever was asked for: the client's call says what is missing.
STATUS_ERRORS = {
    401: AuthenticationFailed,
    403: AuthenticationFailed,
    404: NotFound,
    416: RangeNotSatisfiable,
    429: RateLimited,
}


@dataclass(frozen=True)
class Config:
    base_url: str
    key: str = field(repr=False)  # a traceback or debugger showing the config shows no key
    key_header: str
    timeout: float
    connect_timeout: float
    pool_size: int
    max_bytes: int


def read_config() -> Config:
    """The platform settings, read at call time so that tests and a changed environment take
    effect. dashboard/settings.py defines and checks every one: no second default here."""
    return Config(
        base_url=settings.XUNA_API_BASE_URL.rstrip("/"),
        key=settings.XUNA_API_KEY,
        key_header=settings.XUNA_API_KEY_HEADER,
        timeout=settings.XUNA_API_TIMEOUT,
        connect_timeout=settings.XUNA_API_CONNECT_TIMEOUT,
        pool_size=settings.XUNA_API_POOL_SIZE,
        max_bytes=settings.XUNA_API_MAX_RESPONSE_BYTES,
    )


def origin(url):
    """(scheme, host, port) of an http(s) URL without credentials, else None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except (ValueError, TypeError):
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    return parts.scheme, parts.hostname.lower(), port or DEFAULT_PORTS[parts.scheme]


_session = None
_session_for = None
_session_lock = threading.Lock()


def reset_session() -> None:
    """Drop the pooled connections; the next call builds a new session from settings."""
    global _session, _session_for
    with _session_lock:
        old, _session, _session_for = _session, None, None
    if old is not None:
        old.close()


def _get_session(config):
    global _session, _session_for
    wanted = (config.base_url, config.pool_size)
    with _session_lock:
        # A new base URL (tests, a settings change) gets a fresh pool; the old one is left
        # to the garbage collector because another thread may still be using it.
        if _session is None or _session_for != wanted:
            session = requests.Session()
            # No proxy, netrc or CA settings from the environment ever see the key.
            session.trust_env = False
            adapter = HTTPAdapter(
                pool_connections=4, pool_maxsize=config.pool_size, pool_block=False, max_retries=0
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers.update(
                {"User-Agent": "conversation-review/0.1", "Accept-Encoding": "identity"}
            )
            _session, _session_for = session, wanted
        return _session


@dataclass(frozen=True)
class _Call:
    """One call as every try of it is made."""

    method: str
    url: str
    # What the log shows: the path only, never the host or a query that may hold a token.
    label: str
    params: dict | None
    headers: dict = field(repr=False)  # it holds the key
    deadline: float  # time.monotonic() by which the whole call, retries included, is over


@dataclass(frozen=True)
class _Miss:
    """A try that failed: its error, whether to try again, and the wait the platform asked."""

    error: XunaError
    retry: bool
    retry_after: float | None


def request(method, path, *, params=None):
    """Make one call to the API at `path`, with retries, within one total deadline.

    Returns the decoded JSON body (None for an empty one). Raises only XunaError.
    """
    config = _config_with_key()
    url = config.base_url + path
    call = _Call(
        method=method,
        url=url,
        label=path,
        params=params,
        headers=_headers(config, url),
        deadline=time.monotonic() + config.timeout,
    )
    return _read_json(_send(call, config), call.deadline, config)


def open_stream(url, *, headers):
    """GET `url` as `request` does, and return the open `requests.Response` of its 2xx
    answer: the caller reads the body (read_chunks) and closes it."""
    config = _config_with_key()
    call = _Call(
        method="GET",
        url=url,
        label=urlsplit(url).path,
        params=None,
        headers=_headers(config, url, headers),
        deadline=time.monotonic() + config.timeout,
    )
    return _send(call, config)


def _config_with_key():
    config = read_config()
    if not config.key:
        raise AuthenticationFailed(
            "The dashboard has no API key for the platform: set XUNA_API_KEY."
        )
    return config


def _headers(config, url, extra=None):
    headers = {"Accept": "application/json", **(extra or {})}
    # The key goes to the configured API origin only, whatever URL the caller passed.
    url_origin = origin(url)
    if url_origin is not None and url_origin == origin(config.base_url):
        headers[config.key_header] = config.key
    return headers


def _send(call, config):
    """The first 2xx answer to `call`, trying again while that may help; else raise the
    last try's error. The answer's body is not read here."""
    session = _get_session(config)
    error = None
    unclear = False
    for attempt in range(MAX_RETRIES + 1):
        remaining = call.deadline - time.monotonic()
        if remaining <= 0:
            # Out of time after waiting to retry (a sleep can overrun on a busy machine): what
            # the platform last answered, say a 503, is truer than "it did not answer".
            raise error or _error(UpstreamTimeout, None, config)
        answer = _try_once(session, call, config, remaining)
        if not isinstance(answer, _Miss):
            return answer
        error = answer.error
        error.after_unclear_try = unclear
        unclear = unclear or error.status is None or error.status >= 500
        delay = _backoff(attempt) if answer.retry_after is None else answer.retry_after
        if not answer.retry or attempt == MAX_RETRIES or time.monotonic() + delay >= call.deadline:
            raise error
        logger.info("%s %s: retrying in %.2f s", call.method, call.label, delay)
        time.sleep(delay)
    raise AssertionError("unreachable: the last attempt always raises or returns")


def _try_once(session, call, config, remaining):
    """The 2xx response to one try of `call`, or a _Miss saying what went wrong."""
    started = time.monotonic()
    try:
        response = session.request(
            call.method,
            call.url,
            params=call.params,
            headers=call.headers,
            timeout=(min(config.connect_timeout, remaining), min(config.timeout, remaining)),
            allow_redirects=False,
            stream=True,
        )
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
        logger.warning(
            "%s %s failed after %d ms: %s",
            call.method,
            call.label,
            _ms_since(started),
            type(exc).__name__,
        )
        retry = (
            call.method in RETRY_METHODS
            and isinstance(exc, requests.ConnectionError)
            and not isinstance(exc, requests.exceptions.SSLError)
        )
        return _Miss(_error_for_exception(exc, config), retry, None)
    status = response.status_code
    logger.info("%s %s -> %s in %d ms", call.method, call.label, status, _ms_since(started))
    if 200 <= status < 300:
        return response
    if status in (401, 403):
        logger.error(
            "Configuration error: the platform rejected the API key (HTTP %s); check XUNA_API_KEY.",
            status,
        )
    error = _error_for_response(response, call.deadline, config)
    retry_after = _retry_after(response)
    # A platform that asks for more patience than the cap gets it: no early retry.
    retry = (
        call.method in RETRY_METHODS
        and status in RETRY_STATUSES
        and (retry_after is None or retry_after <= RETRY_AFTER_CAP)
    )
    return _Miss(error, retry, retry_after)


def _ms_since(started):
    return (time.monotonic() - started) * 1000


def _backoff(attempt):
    """Full jitter: spreads the retries of many dashboard workers after a platform hiccup."""
    return random.uniform(0, BACKOFF_BASE * 2**attempt)


def _retry_after(response):
    """Seconds from a Retry-After header (seconds or HTTP date), or None."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def content_range(response):
    """The answer's Content-Range if it is one valid range (or `*`), else None."""
    value = response.headers.get("Content-Range", "").strip()
    return value if CONTENT_RANGE_RE.fullmatch(value) else None


def _error(cls, message, config, **kwargs):
    """Build an exception whose message cannot carry the key, whatever went into it."""
    if message and config.key:
        message = message.replace(config.key, "[redacted]")
    return cls(message, **kwargs)


def _error_for_exception(exc, config):
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return _error(UpstreamTimeout, None, config)
    if isinstance(exc, requests.exceptions.SSLError):
        return _error(UpstreamUnavailable, "A secure connection to the platform failed.", config)
    if isinstance(exc, requests.ConnectionError):
        return _error(UpstreamUnavailable, "The platform could not be reached.", config)
    return _error(UpstreamUnavailable, "The request to the platform failed.", config)


def _error_for_response(response, deadline, config):
    """The exception for a non-2xx answer, carrying its status; the response is closed."""
    # Reading the (small) error body lets the connection go back to the pool.
    code = _error_code(response, deadline, config)
    response.close()
    cls, message = _classify(response.status_code, code)
    details = {}
    if cls is RateLimited:
        details["retry_after"] = _retry_after(response)
    elif cls is RangeNotSatisfiable:
        details["content_range"] = content_range(response)
    exc = _error(cls, message, config, **details)
    exc.status = response.status_code
    return exc


def _classify(status, code):
    """(exception class, message or None for the class's own) for a non-2xx status."""
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status], None
    if 300 <= status < 400:
        return UpstreamUnavailable, "The platform answered with a redirect, which was not followed."
    if 400 <= status < 500:
        detail = f"HTTP {status}, {code}" if code else f"HTTP {status}"
        return RequestRefused, f"The platform refused the request ({detail})."
    return UpstreamUnavailable, f"The platform is not working right now (HTTP {status})."


def _error_code(response, deadline, config):
    """The short `detail.status` code of an error body, if it has a readable one."""
    try:
        body = json.loads(_read_body(response, deadline, min(config.max_bytes, ERROR_BODY_LIMIT)))
    except (XunaError, ValueError, RecursionError):
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    code = detail.get("status") if isinstance(detail, dict) else None
    return code if isinstance(code, str) and ERROR_CODE_RE.fullmatch(code) else None


def _read_json(response, deadline, config):
    try:
        body = _read_body(response, deadline, config.max_bytes)
    finally:
        response.close()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        content_type = response.headers.get("Content-Type", "no type")[:60]
        message = f"The platform sent a reply that is not JSON ({content_type})."
        raise _error(UpstreamUnavailable, message, config) from None


def _read_body(response, deadline, limit):
    """The whole body, or UpstreamTimeout past the deadline, or UpstreamUnavailable past limit."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        raise UpstreamUnavailable("The platform's reply is too large.")
    body = bytearray()
    for chunk in read_chunks(response, deadline):
        body += chunk
        if len(body) > limit:
            raise UpstreamUnavailable("The platform's reply is too large.")
    return bytes(body)


def read_chunks(response, deadline=None):
    """The body as it arrives, at most CHUNK_SIZE at a time; only XunaError escapes.

    `read1` returns whatever has arrived, where `iter_content` waits for a full chunk when
    the length is known. With a deadline the socket wait is lowered to the time left before
    each read, so a server trickling a byte a second is stopped at the deadline.
    """
    try:
        while True:
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise UpstreamTimeout()
            _prepare_socket(response, remaining)
            chunk = response.raw.read1(CHUNK_SIZE, decode_content=True)
            if not chunk:
                return
            yield chunk
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise UpstreamTimeout() from None
    except (urllib3.exceptions.HTTPError, requests.RequestException, OSError):
        raise UpstreamUnavailable("The platform's reply was cut off.") from None


def _prepare_socket(response, seconds):
    """Before each read: lower the socket wait to `seconds` (None leaves it as it is), and
    acknowledge at once what has arrived.

    A server that writes an answer's head and body apart with Nagle's algorithm on (Python's
    http.server, some proxies) sends the body only once the head is acknowledged, and on a
    reused connection Linux delays that acknowledgement by 40 ms (issue 12). TCP_QUICKACK
    sends it now; the kernel does not keep the option set, hence before each read.
    """
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    if seconds is not None:
        sock.settimeout(seconds)
    if hasattr(socket, "TCP_QUICKACK"):  # Linux only
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
