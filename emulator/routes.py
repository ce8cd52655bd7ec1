"""Which endpoint a request path is for: one of the platform's six (docs/api.md), or control."""

import re
from urllib.parse import unquote

ENDPOINTS = ("list", "get", "delete", "audio", "signed_url", "token")
CONTROL_PREFIX = "/_emulator"

_CONVERSATION_PATH = re.compile(r"/v1/convai/conversations/([^/]+)(/audio)?")


def is_control(path: str) -> bool:
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def route(method: str, path: str) -> tuple[str | None, str | None, bool]:
    """(endpoint name, conversation id, whether the path exists) for an API request."""
    path = path.rstrip("/")
    conversation_id = None
    if path == "/v1/convai/conversations":
        methods = {"GET": "list"}
    elif path == "/v1/convai/conversation/get-signed-url":
        methods = {"GET": "signed_url"}
    elif path == "/v1/convai/conversation/token":
        methods = {"GET": "token"}
    elif match := _CONVERSATION_PATH.fullmatch(path):
        conversation_id = unquote(match[1])
        methods = {"GET": "audio"} if match[2] else {"GET": "get", "DELETE": "delete"}
    else:
        return None, None, False
    return methods.get(method), conversation_id, True
