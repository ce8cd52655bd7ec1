"""The tolerant reader: whatever the platform sent, read into frozen dataclasses.

`parse_conversation` and `parse_page` are pure functions. They fail only when there is
nothing to show (no object, or no usable id); every other field they cannot read is left
out and described in `problems`, which the pages show (docs/api.md). The dataclasses are
defined here, with what they are read from; callers use them through `client`.
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from conversations.exceptions import UpstreamUnavailable
from conversations.transport import origin

# What the platform's ids look like; the client sends no other (client.validate_id).
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
RESULTS = frozenset({"success", "failure", "unknown"})
# The moments every time zone can show: Python's datetime ends with the years 1 and 9999, and
# a viewer's zone (up to about 15 hours from UTC) carries their first and last hours past
# those ends, which is an OverflowError wherever a time is shown.
EARLIEST_TIME = datetime(2, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(9999, 1, 1, tzinfo=UTC)  # the first moment out of range
# Collected values are free-form JSON. The cache's pickling and the page's rendering recurse
# once or more per level, so a value nested hundreds of levels deep would fail both: what
# lies deeper than this is replaced by TOO_DEEP.
MAX_NESTING = 20
TOO_DEEP = "… (nested too deeply to show)"
# The analysis's summary of a call is a few sentences and its title a few words; text past
# these lengths is cut, so that one odd conversation cannot fill a page or the index.
SUMMARY_MAX = 10_000
TITLE_MAX = 300
# A tool call's arguments or result is shown inline in the transcript: past this many
# characters (after pretty-printing) the rest is cut, with a note saying how much there was.
# Text longer than TOOL_PARSE_MAX is not parsed as JSON at all, only cut.
TOOL_TEXT_MAX = 2_000
TOOL_PARSE_MAX = 200_000
# Tool calls kept on one turn; a turn claiming thousands is junk, not a call to show.
TOOLS_PER_TURN = 20
# The caller's free-text comment on the call.
COMMENT_MAX = 2_000


@dataclass(frozen=True)
class ToolCall:
    """A tool the agent called during a turn, and what it answered when the platform says.

    `arguments` and `result` are display text: JSON pretty-printed, cut at TOOL_TEXT_MAX.
    """

    name: str
    arguments: str | None = None
    result: str | None = None
    failed: bool = False  # the tool answered with an error


@dataclass(frozen=True)
class Turn:
    speaker: str
    text: str
    offset: float | None
    # The caller spoke over the agent, which stopped mid-sentence.
    interrupted: bool = False
    tool_calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class EvaluationResult:
    criterion: str
    result: str | None
    score: float | None
    feedback: str


@dataclass(frozen=True)
class CollectedValue:
    key: str
    value: object
    rationale: str


@dataclass(frozen=True)
class CallerFeedback:
    """What the caller said of the call: a rating, a thumbs up or down, a comment."""

    rating: float | None = None
    liked: bool | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    # Unknown unless the platform says; a conversation known only by its id has just that.
    agent_id: str | None = None
    agent_name: str | None = None
    status: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    duration: float | None = None
    audio_url: str | None = None
    call_successful: str | None = None
    # The platform's analysis of the call: a short title and a summary of a few sentences.
    title: str | None = None
    summary: str | None = None
    # Why the call ended ("Client disconnected", "end_call tool was called"), and what it cost
    # in the platform's own unit (its credits).
    termination_reason: str | None = None
    cost: float | None = None
    feedback: CallerFeedback | None = None
    transcript: tuple[Turn, ...] = ()
    evaluation: tuple[EvaluationResult, ...] = ()
    collected_data: tuple[CollectedValue, ...] = ()
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConversationPage:
    items: tuple[Conversation, ...]
    next_cursor: str | None
    has_more: bool
    problems: tuple[str, ...] = ()


def parse_conversation(data: object) -> Conversation:
    """Read a conversation (detail or list summary) in any of the shapes the platform uses.

    Raises UpstreamUnavailable only when there is no object with a usable id; every other
    unreadable field is left out and described in `problems`.
    """
    if not isinstance(data, dict):
        raise UpstreamUnavailable("The platform sent a conversation that is not a JSON object.")
    conversation_id = _read_id(data)
    if conversation_id is None:
        raise UpstreamUnavailable("The platform sent a conversation without a usable id.")
    problems = []
    metadata = _read_object(data, "metadata", "the metadata", problems)
    analysis = _read_object(data, "analysis", "the analysis", problems)

    start_time = _read_time(metadata, data, "start", problems)
    end_time = _read_time(metadata, data, "end", problems)
    duration = _read_duration(metadata, data, problems)
    if end_time is None and start_time is not None and duration is not None:
        try:
            end_time = start_time + timedelta(seconds=duration)
        except OverflowError:
            end_time = None
        if end_time is None or not _showable(end_time):
            end_time = None
            problems.append("The end time is out of range.")
    if duration is None and start_time is not None and end_time is not None:
        if end_time >= start_time:
            duration = (end_time - start_time).total_seconds()
        else:
            problems.append("The end time is before the start time.")

    call_successful = _first(data, analysis, key="call_successful")
    if call_successful is not None:
        call_successful, _ = _read_outcome(call_successful)
        if call_successful is None:
            call_successful = "unknown"
            problems.append("The call outcome is not success, failure or unknown.")

    return Conversation(
        id=conversation_id,
        agent_id=_read_text(data, metadata, "agent_id", "the agent id", problems),
        agent_name=_read_text(data, metadata, "agent_name", "the agent name", problems),
        status=_read_text(data, {}, "status", "the status", problems),
        start_time=start_time,
        end_time=end_time,
        duration=duration,
        audio_url=_read_audio_url(data, problems),
        call_successful=call_successful,
        title=_read_summary_text(data, analysis, SUMMARY_TITLE, problems),
        summary=_read_summary_text(data, analysis, SUMMARY, problems),
        termination_reason=_read_summary_text(metadata, data, TERMINATION, problems),
        cost=_read_cost(metadata, data, problems),
        feedback=_read_feedback(metadata, data, problems),
        transcript=_read_transcript(data, problems),
        evaluation=_read_evaluation(data, analysis, problems),
        collected_data=_read_collected_data(data, analysis, problems),
        problems=tuple(problems),
    )


def parse_page(data: object) -> ConversationPage:
    """Read one page of the conversation list; items without a usable id are skipped."""
    if not isinstance(data, dict):
        raise UpstreamUnavailable("The platform sent a list that is not a JSON object.")
    problems = []
    _, raw_items = _first_of((data,), ("conversations", "items"))
    if raw_items is None:
        raw_items = []
    elif not isinstance(raw_items, list):
        problems.append("The list of conversations is not a list.")
        raw_items = []
    items = []
    for number, raw in enumerate(raw_items, start=1):
        try:
            items.append(parse_conversation(raw))
        except UpstreamUnavailable:
            problems.append(f"Conversation {number} in the list has no usable id and was left out.")

    next_cursor = data.get("next_cursor")
    if next_cursor is not None and not (isinstance(next_cursor, str) and next_cursor):
        problems.append("The link to the next page is not readable.")
        next_cursor = None
    has_more = data.get("has_more")
    if has_more is None:
        has_more = next_cursor is not None
    elif not isinstance(has_more, bool):
        problems.append("Whether there are more conversations is not readable.")
        has_more = next_cursor is not None
    elif has_more and next_cursor is None:
        problems.append("The list says there are more conversations but gives no next page.")
        has_more = False
    return ConversationPage(
        items=tuple(items), next_cursor=next_cursor, has_more=has_more, problems=tuple(problems)
    )


def _read_id(data):
    for key in ("conversation_id", "id"):
        value = data.get(key)
        if isinstance(value, str) and ID_RE.fullmatch(value):
            return value
    return None


def _first(*sources, key):
    """The first non-null value of `key` in the given objects."""
    for source in sources:
        value = source.get(key)
        if value is not None:
            return value
    return None


def _first_of(sources, keys):
    for key in keys:
        value = _first(*sources, key=key)
        if value is not None:
            return key, value
    return None, None


def _read_object(data, key, label, problems):
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append(f"{label.capitalize()} is not an object.")
        return {}
    return value


def _read_text(data, metadata, key, label, problems):
    value = _first(data, metadata, key=key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{label.capitalize()} is not text.")
        return None
    return value


def _number(value):
    """A JSON number as a float, else None.

    Python's bool is an int but true is no amount; NaN, infinity and integers too large for
    a float are not amounts either.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _read_time(metadata, data, which, problems):
    """An aware UTC datetime from ISO 8601 text (naive means UTC) or Unix seconds."""
    key, value = _first_of((metadata, data), (f"{which}_time", f"{which}_time_unix_secs"))
    if value is None:
        return None
    moment = None
    try:
        if isinstance(value, str) and not key.endswith("_unix_secs"):
            moment = datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            moment = moment.astimezone(UTC)
        elif (seconds := _number(value)) is not None:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    if moment is None:
        problems.append(f"The {which} time is not a readable date.")
        return None
    if not _showable(moment):
        problems.append(f"The {which} time is out of range (year {moment.year}).")
        return None
    return moment


def _showable(moment):
    """Whether every time zone can show this moment (EARLIEST_TIME, LATEST_TIME)."""
    return EARLIEST_TIME <= moment < LATEST_TIME


def _read_duration(metadata, data, problems):
    _, value = _first_of((metadata, data), ("duration", "duration_secs", "call_duration_secs"))
    if value is None:
        return None
    seconds = _number(value)
    if seconds is None or seconds < 0:
        problems.append("The duration is not a number of seconds.")
        return None
    return seconds


def _read_audio_url(data, problems):
    """The recording's link if it is one the transport could fetch (an http(s) origin)."""
    _, value = _first_of((data,), ("audio", "audio_url"))
    if value is None or data.get("has_audio") is False:
        # The platform's `has_audio: false` says there is no recording, whatever link it gives.
        return None
    if not isinstance(value, str) or origin(value) is None:
        problems.append("The recording link is not a web address.")
        return None
    return value


@dataclass(frozen=True)
class _SummaryText:
    """A text of the analysis, where the platform puts it, and how much of it is kept."""

    key: str  # at the top level or inside `analysis`
    label: str
    limit: int
    one_line: bool


SUMMARY = _SummaryText("transcript_summary", "the summary", SUMMARY_MAX, one_line=False)
SUMMARY_TITLE = _SummaryText("call_summary_title", "the summary's title", TITLE_MAX, one_line=True)
# In the metadata, or else at the top level.
TERMINATION = _SummaryText("termination_reason", "the termination reason", TITLE_MAX, one_line=True)
FEEDBACK_COMMENT = _SummaryText("comment", "the caller's comment", COMMENT_MAX, one_line=False)


def _read_summary_text(data, analysis, field, problems):
    """The text at the top level or else in the analysis; None when absent or blank.

    NUL bytes are dropped (nothing shows them, and PostgreSQL refuses them where the index
    keeps this text); text longer than the field's limit is cut, and the cut is reported.
    """
    value = _first(data, analysis, key=field.key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{field.label.capitalize()} is not text.")
        return None
    text = value.replace("\x00", "")
    text = " ".join(text.split()) if field.one_line else text.strip()
    if len(text) > field.limit:
        problems.append(
            f"{field.label.capitalize()} is longer than {field.limit:,} characters; "
            "the rest is not shown."
        )
        text = text[: field.limit - 1].rstrip() + "…"
    return text or None


def _read_transcript(data, problems):
    turns = data.get("transcript")
    if turns is None:
        return ()
    if not isinstance(turns, list):
        problems.append("The transcript is not a list of turns.")
        return ()
    read = []  # (speaker, text, offset, interrupted, [call, ...])
    calls_by_request = {}  # a call's request id -> [name, arguments, result, failed]
    for number, turn in enumerate(turns, start=1):
        if not isinstance(turn, dict):
            problems.append(f"Transcript turn {number} is not readable.")
            continue
        calls = _read_tool_calls(turn, number, calls_by_request, problems)
        _, text = _first_of((turn,), ("text", "message"))
        if text is None and calls:
            text = ""  # a turn that only calls a tool or reads its result says nothing
        if not isinstance(text, str):
            problems.append(f"Transcript turn {number} has no readable text.")
            continue
        _, speaker = _first_of((turn,), ("speaker", "role", "speaker_label"))
        if isinstance(speaker, str) and speaker.strip():
            speaker = speaker.strip().lower()
        else:
            problems.append(f"Transcript turn {number} has no readable speaker.")
            speaker = "unknown"
        _, raw_offset = _first_of((turn,), ("timestamp", "time_in_call_secs", "offset"))
        offset = _number(raw_offset)
        if raw_offset is not None and (offset is None or offset < 0):
            problems.append(f"Transcript turn {number} has no readable time.")
            offset = None
        interrupted = turn.get("interrupted")
        if interrupted is not None and not isinstance(interrupted, bool):
            problems.append(f"Whether transcript turn {number} was interrupted is not readable.")
            interrupted = False
        read.append((speaker, text, offset, bool(interrupted), calls))
    return tuple(
        Turn(speaker, text, offset, interrupted, tuple(ToolCall(*call) for call in calls))
        for speaker, text, offset, interrupted, calls in read
    )


def _read_tool_calls(turn, number, calls_by_request, problems):
    """A turn's tool calls, each [name, arguments, result, failed], with the results it reads.

    The platform puts a tool's result on the same turn as its call or on a later one, tied to
    the call by `request_id` (without one, to the last call of that tool still waiting): such
    a result completes its call wherever that is shown; a result with no call to tie it to is
    shown on its own turn.
    """
    calls = []
    for key, reader in (("tool_calls", _read_tool_call), ("tool_results", _read_tool_result)):
        entries = turn.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            label = key.replace("_", " ")
            problems.append(f"The {label} of transcript turn {number} are not a list.")
            continue
        if len(entries) > TOOLS_PER_TURN:
            problems.append(
                f"Transcript turn {number} has {len(entries):,} {key.replace('_', ' ')}; "
                f"only the first {TOOLS_PER_TURN} are shown."
            )
        for entry in entries[:TOOLS_PER_TURN]:
            if not isinstance(entry, dict):
                problems.append(f"A tool entry of transcript turn {number} is not readable.")
                continue
            reader(entry, calls, calls_by_request)
    return calls


def _read_tool_call(entry, calls, calls_by_request):
    _, arguments = _first_of((entry,), ("params_as_json", "arguments", "params", "parameters"))
    call = [_tool_name(entry), _tool_text(arguments), None, False]
    calls.append(call)
    calls_by_request[("tool", call[0])] = call
    request = entry.get("request_id")
    if isinstance(request, str) and request:
        calls_by_request[request] = call


def _read_tool_result(entry, calls, calls_by_request):
    _, value = _first_of((entry,), ("result_value", "result", "output"))
    failed = entry.get("is_error") is True
    request = entry.get("request_id")
    if not isinstance(request, str) or not request:
        request = ("tool", _tool_name(entry))
    call = calls_by_request.pop(request, None)
    if call is None or call[2] is not None:  # no call, or one already answered
        calls.append([_tool_name(entry), None, _tool_text(value), failed])
    else:
        call[2], call[3] = _tool_text(value), failed


def _tool_name(entry):
    _, name = _first_of((entry,), ("tool_name", "name"))
    if not isinstance(name, str) or not name.strip():
        return "unnamed tool"
    return " ".join(name.replace("\x00", "").split())[:TITLE_MAX] or "unnamed tool"


def _tool_text(value):
    """A tool's arguments or result as text to show: JSON (in a string or not) pretty-printed,
    NUL bytes dropped, cut at TOOL_TEXT_MAX with a note of how long it was; None when absent."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) <= TOOL_PARSE_MAX:
        try:
            parsed = json.loads(value)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict | list):
            value = parsed
    if not isinstance(value, str):
        if _nested_deeper_than(value, MAX_NESTING):
            value = _cut_below(value, MAX_NESTING)
        try:
            value = json.dumps(value, indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            value = repr(value)
    text = value.replace("\x00", "").strip()
    if len(text) > TOOL_TEXT_MAX:
        text = text[:TOOL_TEXT_MAX].rstrip() + f"\n… (cut here: {len(text):,} characters in all)"
    return text


def _read_cost(metadata, data, problems):
    """The call's cost in the platform's unit, in the metadata or at the top level."""
    value = _first(metadata, data, key="cost")
    if value is None:
        return None
    cost = _number(value)
    if cost is None or cost < 0:
        problems.append("The cost is not a number.")
        return None
    return cost


def _read_feedback(metadata, data, problems):
    """The caller's feedback: a `rating` (a number), an `overall_score` of "like" or
    "dislike", a `comment`; None when it says nothing."""
    feedback = _first(metadata, data, key="feedback")
    if feedback is None:
        return None
    if not isinstance(feedback, dict):
        problems.append("The caller's feedback is not an object.")
        return None
    rating = _number(feedback.get("rating"))
    if rating is None and feedback.get("rating") is not None:
        problems.append("The caller's rating is not a number.")
    score = feedback.get("overall_score")
    liked = {"like": True, "dislike": False}.get(score) if isinstance(score, str) else None
    if score is not None and liked is None:
        problems.append("The caller's like or dislike is not readable.")
    comment = _read_summary_text(feedback, {}, FEEDBACK_COMMENT, problems)
    if rating is None and liked is None and comment is None:
        return None
    return CallerFeedback(rating=rating, liked=liked, comment=comment)


def _named_entries(container, name_keys, label, problems):
    """(name, entry) pairs from `{name: entry}` or from `[{<name key>: name, ...}]`."""
    if isinstance(container, dict):
        return [(name, entry) for name, entry in container.items() if isinstance(name, str)]
    if not isinstance(container, list):
        problems.append(f"The {label} are not readable.")
        return []
    pairs = []
    for number, entry in enumerate(container, start=1):
        name = None
        if isinstance(entry, dict):
            _, name = _first_of((entry,), name_keys)
        if not isinstance(name, str) or not name:
            problems.append(f"Entry {number} of the {label} has no name and was left out.")
            continue
        pairs.append((name, entry))
    return pairs


def _read_outcome(value):
    """(result, score) from a bool, a number or a success/failure/unknown string."""
    if isinstance(value, bool):
        return ("success" if value else "failure"), None
    if _number(value) is not None:
        return None, _number(value)
    if isinstance(value, str) and value.strip().lower() in RESULTS:
        return value.strip().lower(), None
    return None, None


@dataclass(frozen=True)
class _Section:
    """A part of a conversation made of named entries, and where the platform puts it."""

    key: str  # at the top level
    analysis_key: str  # or inside `analysis`
    name_keys: tuple[str, ...]  # where an entry of a list keeps its name
    label: str


EVALUATION = _Section(
    "evaluation_results",
    "evaluation_criteria_results",
    ("criterion", "criteria_id", "name"),
    "evaluation results",
)
COLLECTED_DATA = _Section(
    "collected_data",
    "data_collection_results",
    ("key", "data_collection_id", "name"),
    "collected data",
)


def _read_section(data, analysis, section, problems):
    """The (name, entry) pairs of a section, from the top level or else from the analysis."""
    container = data.get(section.key)
    if container is None:
        container = analysis.get(section.analysis_key)
    if container is None:
        return []
    return _named_entries(container, section.name_keys, section.label, problems)


def _read_evaluation(data, analysis, problems):
    return tuple(
        _read_criterion(criterion, entry, problems)
        for criterion, entry in _read_section(data, analysis, EVALUATION, problems)
    )


def _read_criterion(criterion, entry, problems):
    if not isinstance(entry, dict):
        entry = {"result": entry}
    result = score = None
    readable = False
    for key in ("score", "result"):
        if entry.get(key) is None:
            continue
        outcome, number = _read_outcome(entry[key])
        readable = readable or outcome is not None or number is not None
        result = result or outcome
        score = score if score is not None else number
    if not readable:
        problems.append(f"The evaluation “{criterion}” has no readable result.")
        result = "unknown"
    _, feedback = _first_of((entry,), ("feedback", "rationale"))
    if feedback is not None and not isinstance(feedback, str):
        problems.append(f"The feedback for “{criterion}” is not text.")
        feedback = None
    return EvaluationResult(
        criterion=criterion, result=result, score=score, feedback=feedback or ""
    )


def _read_collected_data(data, analysis, problems):
    return tuple(
        _read_collected_value(key, entry, problems)
        for key, entry in _read_section(data, analysis, COLLECTED_DATA, problems)
    )


def _read_collected_value(key, entry, problems):
    value, rationale = entry, ""
    if isinstance(entry, dict) and "value" in entry:
        value, rationale = entry["value"], entry.get("rationale")
        if rationale is None:
            rationale = ""
        elif not isinstance(rationale, str):
            problems.append(f"The rationale for “{key}” is not text.")
            rationale = ""
    if _nested_deeper_than(value, MAX_NESTING):
        value = _cut_below(value, MAX_NESTING)
        problems.append(
            f"The value of “{key}” is nested more than {MAX_NESTING} levels deep; "
            "the deeper levels are not shown."
        )
    return CollectedValue(key=key, value=value, rationale=rationale)


def _nested_deeper_than(value, levels):
    """Whether `value` holds objects or lists more than `levels` deep; recurses `levels` at most."""
    if not isinstance(value, dict | list):
        return False
    if levels == 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    return any(_nested_deeper_than(item, levels - 1) for item in items)


def _cut_below(value, levels):
    """A copy of `value` with each object or list more than `levels` deep replaced by TOO_DEEP."""
    if not isinstance(value, dict | list):
        return value
    if levels == 0:
        return TOO_DEEP
    if isinstance(value, dict):
        return {key: _cut_below(item, levels - 1) for key, item in value.items()}
    return [_cut_below(item, levels - 1) for item in value]
