"""Tolerant reading of JSON the emulator did not write: numbers, dates, and whole conversations.

A conversation added by hand (`Emulator.add_conversation`, `POST /_emulator/conversations`) is
served as given; its list summary and recording are read from it here, and whatever cannot be
read is left out rather than refused, as the platform does with odd data.
"""

import math
from datetime import UTC, datetime

from emulator.shapes import iso
from emulator.store import Agent, Record


def as_number(value: object) -> float | None:
    """A finite JSON number as a float; None for anything else (booleans, NaN, strings...)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _timestamp(value: object) -> float | None:
    """Unix seconds from an ISO string or a number, if it is a date the list can show."""
    seconds = as_number(value)
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            seconds = (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
        iso(seconds)
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return seconds


def record_from_raw(raw: dict, conversation_id: str, agents: list[Agent], now: float) -> Record:
    """A summary read tolerantly from any JSON object: what cannot be read is left out."""
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    analysis = raw.get("analysis") if isinstance(raw.get("analysis"), dict) else {}
    agent_id = next(
        (v for v in (raw.get("agent_id"), metadata.get("agent_id")) if isinstance(v, str)), None
    )
    agent_name = metadata.get("agent_name")
    if not isinstance(agent_name, str):
        agent_name = next((agent.name for agent in agents if agent.id == agent_id), None)
    start = _timestamp(metadata.get("start_time"))
    if start is None:
        start = _timestamp(metadata.get("start_time_unix_secs"))
    duration = as_number(metadata.get("duration"))
    if duration is None:
        duration = as_number(metadata.get("call_duration_secs"))
    outcome = raw.get("call_successful", analysis.get("call_successful"))
    transcript = raw.get("transcript")
    return Record(
        conversation_id=conversation_id,
        agent_id=agent_id,
        agent_name=agent_name,
        start=now if start is None else start,
        duration=None if duration is None else int(duration),
        status=raw.get("status") if isinstance(raw.get("status"), str) else None,
        call_successful=outcome if outcome in ("success", "failure", "unknown") else "unknown",
        message_count=len(transcript) if isinstance(transcript, list) else 0,
        has_audio=isinstance(raw.get("audio"), str) and bool(raw["audio"]),
        raw=raw,
    )


def raw_timeline(raw: dict) -> list[tuple[str, float]]:
    """(speaker, offset) of each readable turn of a hand-added conversation."""
    turns = raw.get("transcript")
    result = []
    for turn in turns if isinstance(turns, list) else []:
        if not isinstance(turn, dict):
            continue
        speaker = turn.get("speaker", turn.get("role"))
        offset = as_number(turn.get("timestamp", turn.get("time_in_call_secs")))
        if offset is not None and offset >= 0:
            result.append((str(speaker).lower(), offset))
    return result
