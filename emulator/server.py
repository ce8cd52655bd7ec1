"""The emulator: its state, its life cycle, and the way an API request is answered.

`Emulator` holds the store of conversations (and the arrivals into it, emulator/arrivals.py),
the faults waiting to be taken, the latency, the call log and the requests in flight, behind
one lock. Tests and benchmarks steer it through its public methods, or from another process
through `/_emulator/...` (emulator/control.py). `Emulator.answer` takes an API request from
arrival to answer: logged, refused with a 429 beyond `max_concurrent` requests in flight,
delayed, maybe spoiled by a fault (faults come before the key check), then served by its
endpoint (emulator/endpoints.py). The shape of every answer is fixed by the API
contract (docs/api.md); the sockets are in emulator/handler.py.
"""

import copy
import hmac
import json
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from emulator import endpoints
from emulator.arrivals import Arrivals
from emulator.faults import Fault, new_fault, spoil
from emulator.generate import generate
from emulator.handler import Server
from emulator.lenient import as_number, record_from_raw
from emulator.responses import Hangup, Response, error_response
from emulator.routes import route
from emulator.shapes import build_detail
from emulator.store import Store


@dataclass(frozen=True)
class Options:
    """How an emulator is set up; `Emulator(**options)` takes these names as keywords."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 for a free port, which `Emulator.url` names once started
    api_key: str = "emulator-key"
    api_key_header: str = "xi-api-key"
    seed: int = 1
    conversations: int = 240
    latency_ms: float = 0
    jitter_ms: float = 0
    faults: Iterable[dict] = ()  # each one the arguments of `Emulator.set_fault`
    verbose: bool = False  # log every request on stderr
    arrivals_per_minute: float = 0  # new conversations while it runs (emulator/arrivals.py)
    processing_seconds: float = 20  # how long an arrival is "processing" after its call
    # API requests served at once; one more is refused with a 429 at once (0: no limit).
    max_concurrent: int = 0
    clock: Callable[[], float] = time.monotonic  # the arrivals' clock, in seconds


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# Seconds a request refused for concurrency is told to wait before it tries again.
CONCURRENCY_RETRY_AFTER = 1


@dataclass(frozen=True)
class Concurrency:
    """API requests in flight (from arrival until the answer is ready, latency included; a
    recording's streaming is not counted), the most at once, and how many were refused."""

    in_flight: int = 0
    peak: int = 0
    refused: int = 0


@dataclass(frozen=True)
class Call:
    """One API request as the emulator saw it; `endpoint` is None for a path it does not serve."""

    method: str
    path: str
    endpoint: str | None
    query: dict[str, str]
    authorized: bool


class Emulator:
    """A stand-in for the platform's API, served from a daemon thread.

    >>> em = Emulator(port=0, api_key="test-key", seed=1, conversations=240).start()
    >>> em.url  # 'http://127.0.0.1:<free port>'
    >>> em.stop()
    """

    def __init__(self, **options):
        settings = Options(**options)
        self.host, self.port = settings.host, settings.port
        self.api_key, self.api_key_header = settings.api_key, settings.api_key_header
        self.seed, self.conversation_count = settings.seed, settings.conversations
        self.verbose = settings.verbose
        self.arrivals_per_minute = settings.arrivals_per_minute
        self.processing_seconds = settings.processing_seconds
        self._clock = settings.clock
        self.max_concurrent = settings.max_concurrent
        if not _is_count(self.max_concurrent):
            raise ValueError(
                f"max_concurrent must be a whole number, 0 or more: {self.max_concurrent!r}"
            )
        self._concurrency = Concurrency()
        # One lock guards the store and its arrivals, the faults, the call log and the latency:
        # handlers run in parallel threads.
        self._lock = threading.Lock()
        # Set by stop(): hanging and trickling answers end at once.
        self.stopping = threading.Event()
        # Set, and replaced, by reset() and stop(): wakes the requests that are waiting.
        self._interrupt = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._noise = random.Random()  # latency jitter need not repeat between runs
        self._calls: list[Call] = []
        self._faults: list[Fault] = []
        self._store, self._arrivals = self._generate()
        self._latency = (0, 0)
        self.set_latency(settings.latency_ms, settings.jitter_ms)
        for fault in settings.faults:
            self.set_fault(**fault)

    # Life cycle

    def start(self) -> "Emulator":
        if self._server is not None:
            raise RuntimeError("The emulator is already running.")
        self.stopping.clear()
        self._interrupt = threading.Event()
        server = Server((self.host, self.port), self)
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long stop() may wait for the accept loop
            name=f"emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port; hanging and trickling answers end at once."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        self._interrupt.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    # Data

    def _generate(self) -> tuple[Store, Arrivals]:
        agents, records = generate(self.seed, self.conversation_count, time.time())
        store = Store(agents, records)
        arrivals = Arrivals(
            store,
            self.seed,
            per_minute=self.arrivals_per_minute,
            processing_seconds=self.processing_seconds,
            clock=self._clock,
        )
        return store, arrivals

    def _store_now(self) -> Store:
        """The store with the arrivals due by now (emulator/arrivals.py); hold the lock."""
        self._arrivals.catch_up()
        return self._store

    def reset(self) -> None:
        """Fresh seeded data, no arrivals yet, no faults, no calls, no latency (the concurrency
        limit stays: it is how the emulator was set up, like its seed).

        A request still waiting (latency, a hang) from before is dropped, not answered: it
        would otherwise act on the fresh data, say delete a conversation a later test expects.
        """
        store, arrivals = self._generate()
        with self._lock:
            self._store, self._arrivals = store, arrivals
            self._faults.clear()
            self._calls.clear()
            self._latency = (0, 0)
            # The requests still in flight end (dropped) after this, and count themselves out.
            self._concurrency = Concurrency(in_flight=self._concurrency.in_flight)
            interrupted, self._interrupt = self._interrupt, threading.Event()
        interrupted.set()

    @property
    def agents(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(agent.id, agent.name) for agent in self._store.agents]

    def conversation_ids(self, agent_id: str | None = None) -> list[str]:
        """Ids newest first, as the list endpoint orders them."""
        with self._lock:
            return self._store_now().ids(agent_id)

    def raw(self, conversation_id: str) -> dict:
        """The detail JSON the get endpoint serves; KeyError when there is no such conversation."""
        with self._lock:
            record = self._store_now().get(conversation_id)
        if record is None:
            raise KeyError(conversation_id)
        return copy.deepcopy(build_detail(record, self.url))

    def add_conversation(self, raw: dict) -> str:
        """Store a detail JSON object verbatim (adding an id when it has none); returns the id."""
        if not isinstance(raw, dict):
            raise TypeError("A conversation must be a JSON object.")
        raw = json.loads(json.dumps(raw))  # a private copy, and proof that it is JSON
        conversation_id = raw.get("conversation_id")
        if not isinstance(conversation_id, str) or not conversation_id:
            conversation_id = f"conv_{secrets.token_hex(12)}"
            raw.setdefault("conversation_id", conversation_id)
        with self._lock:
            record = record_from_raw(raw, conversation_id, self._store.agents, time.time())
            self._store.add(record)
        return conversation_id

    def delete_conversation(self, conversation_id: str) -> bool:
        """Delete a conversation behind the dashboard's back; False when there is no such one.

        As the platform's console or a retention policy would: no API call is made or logged.
        """
        with self._lock:
            return self._store_now().delete(conversation_id)

    # Faults, latency and the call log

    def set_fault(self, endpoint: str, kind: str, *, times: int | None = None, **options) -> None:
        """Spoil the next `times` requests to `endpoint` ("*" for all) with a fault `kind`."""
        fault = new_fault(endpoint, kind, times, options)
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[Fault]:
        with self._lock:
            return [replace(fault, options=dict(fault.options)) for fault in self._faults]

    def set_latency(self, ms: float, jitter_ms: float = 0) -> None:
        """Delay every API answer by `ms` plus up to `jitter_ms` (uniformly drawn)."""
        if as_number(ms) is None or as_number(jitter_ms) is None or ms < 0 or jitter_ms < 0:
            raise ValueError("Latency must be given as non-negative numbers of milliseconds.")
        with self._lock:
            self._latency = (ms, jitter_ms)

    @property
    def concurrency(self) -> Concurrency:
        """The concurrency counters: in flight now, the peak, and the 429s given."""
        with self._lock:
            return self._concurrency

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def clear_calls(self) -> None:
        with self._lock:
            self._calls.clear()

    # Answering an API request (called by the request handler, one thread per connection)

    def answer(self, method: str, path: str, query: dict[str, str], headers) -> Response | Hangup:
        """An API request from arrival to answer: logged, refused when `max_concurrent` are
        in flight, else delayed, maybe spoiled, then served."""
        endpoint, conversation_id, exists = route(method, path)
        authorized = self._authorized(headers.get(self.api_key_header))
        with self._lock:
            self._calls.append(Call(method, path, endpoint, query, authorized))
        if endpoint is None:
            if exists:
                return error_response(405, "method_not_allowed", f"{method} is not allowed here.")
            return error_response(404, "not_found", f"No endpoint at {path}.")
        if not self._admit():
            return endpoints.too_many_concurrent(self.max_concurrent, CONCURRENCY_RETRY_AFTER)
        try:
            return self._answer_admitted(endpoint, conversation_id, query, headers, authorized)
        finally:
            with self._lock:
                now = self._concurrency
                self._concurrency = replace(now, in_flight=now.in_flight - 1)

    def _admit(self) -> bool:
        """Count a request in flight, or refuse it when `max_concurrent` are already."""
        with self._lock:
            now = self._concurrency
            if self.max_concurrent and now.in_flight >= self.max_concurrent:
                self._concurrency = replace(now, refused=now.refused + 1)
                return False
            in_flight = now.in_flight + 1
            self._concurrency = replace(now, in_flight=in_flight, peak=max(now.peak, in_flight))
            return True

    def _answer_admitted(
        self, endpoint: str, conversation_id: str | None, query: dict, headers, authorized: bool
    ) -> Response | Hangup:
        """An admitted request: delayed, maybe spoiled by a fault, then served."""
        if not self._pause(self._latency_seconds()):
            return Hangup()

        def real() -> Response:
            if not authorized:
                return error_response(401, "invalid_api_key", "The API key is missing or invalid.")
            return self._serve(endpoint, conversation_id, query, headers.get("Range"))

        # Faults come before the key check: they stand for what sits in front of the platform.
        fault = self._take_fault(endpoint)
        if fault is None:
            return real()
        return spoil(fault, endpoint, conversation_id, real=real, pause=self._pause)

    def _authorized(self, key: str | None) -> bool:
        return key is not None and hmac.compare_digest(key.encode(), self.api_key.encode())

    def _latency_seconds(self) -> float:
        with self._lock:
            ms, jitter_ms = self._latency
        return (ms + self._noise.uniform(0, jitter_ms)) / 1000

    def _pause(self, seconds: float) -> bool:
        """Sleep unless the emulator stops or is reset meanwhile; False when it was."""
        with self._lock:
            interrupt = self._interrupt
        if seconds > 0:
            interrupt.wait(seconds)
        return not interrupt.is_set() and not self.stopping.is_set()

    def _take_fault(self, endpoint: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.endpoint in (endpoint, "*"):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _serve(
        self, endpoint: str, conversation_id: str | None, query: dict, range_header: str | None
    ) -> Response:
        """The real answer of an endpoint to an authorized request."""
        if endpoint == "list":
            return self._list(query)
        if endpoint in ("signed_url", "token"):
            agent_ids = {agent_id for agent_id, _ in self.agents}
            return endpoints.credentials(endpoint, query.get("agent_id"), agent_ids, self.url)
        with self._lock:
            record = self._store_now().get(conversation_id)
            if endpoint == "delete" and record is not None:
                self._store.delete(conversation_id)
        if record is None:
            return endpoints.not_found(conversation_id)
        if endpoint == "delete":
            return endpoints.deleted()
        if endpoint == "get":
            return endpoints.detail(record, self.url)
        return endpoints.audio(record, range_header)

    def _list(self, query: dict) -> Response:
        asked = endpoints.read_list_query(query)
        if isinstance(asked, Response):
            return asked
        with self._lock:
            records, has_more = self._store_now().page(asked.agent_id, asked.after, asked.size)
        return endpoints.list_page(records, has_more)
