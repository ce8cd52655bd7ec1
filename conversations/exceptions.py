"""What can go wrong with the platform: one hierarchy that callers catch by meaning.

    XunaError                   anything the client raises; str() is a sentence
    ├── InvalidIdentifier       an id or cursor we would not send: no request was made
    ├── NotFound                the platform has no such thing (HTTP 404)
    │   ├── ConversationNotFound
    │   ├── AgentNotFound
    │   └── RecordingNotFound
    ├── AuthenticationFailed    the platform rejected our key (401/403): a configuration problem
    ├── RateLimited             the platform asks us to slow down (429)
    ├── RangeNotSatisfiable     no bytes of the recording in the asked range (416)
    ├── RequestRefused          another 4xx: the platform answered, and refused our request
    └── UpstreamUnavailable     no usable answer: unreachable, a 5xx, a redirect, unreadable
        └── UpstreamTimeout     no answer within the deadline

A parent is a claim about meaning: whoever catches it handles every child the same way. So
a refused request is not an unavailable platform (the platform is up and said no; trying
again will not help), and a missing agent or recording is not a missing conversation. The
transport raises NotFound for any 404; the client's calls raise the child that names what
they asked for. Defined here, below the client, the transport and the reader, which all
raise them; callers use them through `client` (docs/api.md).
"""


class XunaError(Exception):
    """Base of everything the client raises; str() is a sentence a person can read."""

    default_message = "The conversation platform could not be used."
    # The platform's HTTP status when it answered with an error; None when it did not answer
    # (timeout, connection failure) or its answer was unusable. The audit log records it.
    status = None
    # Whether an earlier try of the same call got an unclear answer (a 5xx, a dropped
    # connection, a timeout): the platform may have acted on it before this answer came.
    after_unclear_try = False

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidIdentifier(XunaError):
    """An id or cursor that cannot be sent to the platform; no request was made."""

    default_message = "That identifier is not valid."


class NotFound(XunaError):
    """The platform has no such thing: each call raises the child naming what it asked for."""

    default_message = "The platform does not have what was asked for."


class ConversationNotFound(NotFound):
    default_message = "The platform has no such conversation."


class AgentNotFound(NotFound):
    default_message = "The platform has no agent with this id."


class RecordingNotFound(NotFound):
    default_message = "This conversation has no recording."


class AuthenticationFailed(XunaError):
    default_message = (
        "The platform rejected the dashboard's API key: a configuration problem "
        "(check XUNA_API_KEY)."
    )


class RateLimited(XunaError):
    default_message = "The platform is receiving too many requests; try again shortly."

    def __init__(self, message=None, *, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class RangeNotSatisfiable(XunaError):
    """The recording has no bytes in the requested range (HTTP 416)."""

    default_message = "The requested part of the recording does not exist."

    def __init__(self, message=None, *, content_range=None):
        super().__init__(message)
        self.content_range = content_range


class RequestRefused(XunaError):
    """The platform answered and refused the request as made (a 4xx other than 401, 403,
    404, 416 and 429).

    Not an UpstreamUnavailable: the platform is up, and the same request will be refused
    again. It means the dashboard asks in a way this platform does not accept (a mismatch
    of versions or of configuration), so nothing was done: a deletion it refuses did not
    happen.
    """

    default_message = "The platform refused the request."


class UpstreamUnavailable(XunaError):
    default_message = "The conversation platform is not available right now."


class UpstreamTimeout(UpstreamUnavailable):
    default_message = "The conversation platform did not answer in time."
