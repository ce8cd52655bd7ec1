"""The control API under `/_emulator/` (docs/api.md): how another process steers the emulator.

Each control endpoint calls the public `Emulator` method a test in the same process would call
(calls, concurrency, faults, latency, reset, conversations). Control requests need no key and
are never logged as calls: `DELETE /_emulator/conversations/{id}` is a deletion behind the
dashboard's back, which it can only notice by the conversation's absence.
"""

import json
from dataclasses import asdict
from typing import TYPE_CHECKING
from urllib.parse import unquote

from emulator import endpoints
from emulator.responses import Response, error_response, json_response
from emulator.routes import CONTROL_PREFIX

if TYPE_CHECKING:
    from emulator.server import Emulator


class _BadJSON(ValueError):
    pass


def answer(emulator: "Emulator", method: str, path: str, body: bytes) -> Response:
    name = path.removeprefix(CONTROL_PREFIX).strip("/")
    # One conversation's path names the collection, and its id goes to the action.
    collection, slash, item = name.partition("/")
    if slash:
        name = f"{collection}/{{id}}"
    actions = {
        ("calls", "GET"): lambda: {"calls": [asdict(call) for call in emulator.calls]},
        ("calls", "DELETE"): emulator.clear_calls,
        ("concurrency", "GET"): lambda: {
            "max_concurrent": emulator.max_concurrent,
            **asdict(emulator.concurrency),
        },
        ("faults", "GET"): lambda: {"faults": [asdict(fault) for fault in emulator.faults]},
        ("faults", "POST"): lambda: _post_fault(emulator, _json_object(body)),
        ("faults", "DELETE"): emulator.clear_faults,
        ("latency", "POST"): lambda: _post_latency(emulator, _json_object(body)),
        ("reset", "POST"): emulator.reset,
        ("conversations", "POST"): lambda: {
            "conversation_id": emulator.add_conversation(_json_object(body))
        },
        ("conversations/{id}", "DELETE"): lambda: _delete_conversation(emulator, unquote(item)),
    }
    action = actions.get((name, method))
    if action is None:
        if any(key[0] == name for key in actions):
            return error_response(405, "method_not_allowed", f"{method} is not allowed here.")
        return error_response(404, "not_found", f"No control endpoint {path}.")
    try:
        result = action()
    except _BadJSON as error:
        return error_response(400, "invalid_json", str(error))
    except (TypeError, ValueError) as error:
        return error_response(422, "invalid_request", str(error))
    if isinstance(result, Response):
        return result
    return json_response(200, {} if result is None else result)


def _post_fault(emulator: "Emulator", payload: dict) -> dict:
    if "endpoint" not in payload or "kind" not in payload:
        raise ValueError("A fault needs an endpoint and a kind.")
    options = dict(payload)
    endpoint, kind = options.pop("endpoint"), options.pop("kind")
    emulator.set_fault(endpoint, kind, times=options.pop("times", None), **options)
    return {"fault": payload}


def _delete_conversation(emulator: "Emulator", conversation_id: str) -> Response | None:
    if not emulator.delete_conversation(conversation_id):
        return endpoints.not_found(conversation_id)
    return None


def _post_latency(emulator: "Emulator", payload: dict) -> None:
    emulator.set_latency(payload.get("ms", 0), payload.get("jitter_ms", 0))


def _json_object(body: bytes) -> dict:
    try:
        payload = json.loads(body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _BadJSON(f"The body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise _BadJSON("The body must be a JSON object.")
    return payload
