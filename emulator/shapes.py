"""The JSON the platform answers with: a conversation's list summary and its detail.

The detail comes in two shapes (docs/api.md): the documented one, and the "wild" one with the
field names the platform also uses in practice. A conversation added by hand is served as given.
"""

from datetime import UTC, datetime

from emulator.generate import Content, content
from emulator.store import Record


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def summary(record: Record) -> dict:
    return {
        "conversation_id": record.conversation_id,
        "agent_id": record.agent_id,
        "agent_name": record.agent_name,
        "status": record.status,
        "call_successful": record.call_successful,
        "message_count": record.message_count,
        "metadata": {
            "start_time": iso(record.start),
            "duration": record.duration,
            "agent_id": record.agent_id,
        },
    }


def build_detail(record: Record, base_url: str) -> dict:
    """The detail JSON of a conversation, in the documented or the wild shape."""
    if record.raw is not None:
        return record.raw
    said = content(record)
    audio = (
        f"{base_url}/v1/convai/conversations/{record.conversation_id}/audio"
        if record.has_audio
        else None
    )
    return {
        "conversation_id": record.conversation_id,
        "agent_id": record.agent_id,
        "status": record.status,
        "audio": audio,
        **(_wild(record, said) if record.wild else _documented(record, said)),
    }


def _documented(record: Record, said: Content) -> dict:
    """The fields of the documented shape that follow the common ones."""
    return {
        "metadata": {
            "start_time": iso(record.start),
            "end_time": iso(record.start + record.duration),
            "duration": record.duration,
            "agent_id": record.agent_id,
            "agent_name": record.agent_name,
        },
        "transcript": [
            {"speaker": speaker, "text": text, "timestamp": offset}
            for (speaker, offset), text in zip(said.turns, said.texts, strict=True)
        ],
        "evaluation_results": {
            name: {"score": result, "feedback": feedback}
            if isinstance(result, int | float)
            else {"result": result, "feedback": feedback}
            for name, (result, feedback) in said.evaluation.items()
        },
        "collected_data": {
            key: {"value": value, "rationale": rationale}
            for key, (value, rationale) in said.collected.items()
        },
    }


def _wild(record: Record, said: Content) -> dict:
    """The fields of the wild shape that follow the common ones."""
    return {
        "metadata": {
            "start_time_unix_secs": int(record.start),
            "call_duration_secs": record.duration,
        },
        "transcript": [
            {"role": speaker, "message": text, "time_in_call_secs": offset}
            for (speaker, offset), text in zip(said.turns, said.texts, strict=True)
        ],
        "analysis": {
            "evaluation_criteria_results": {
                name: {
                    "criteria_id": name,
                    # The wild shape sometimes reports pass/fail as booleans.
                    "result": result == "success" if name in said.boolean_results else result,
                    "rationale": feedback,
                }
                for name, (result, feedback) in said.evaluation.items()
            },
            "data_collection_results": {
                key: {"data_collection_id": key, "value": value, "rationale": rationale}
                for key, (value, rationale) in said.collected.items()
            },
        },
    }
