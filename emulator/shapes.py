"""The JSON the platform answers with: a conversation's list summary and its detail.

The detail comes in two shapes (docs/api.md): the documented one, and the "wild" one with the
field names the platform also uses in practice. A conversation added by hand is served as given.
One that is not final yet (an arrival, emulator/arrivals.py) has no analysis: while in progress
no transcript, duration or recording either. An analysed one has a title and summary in
`analysis` in both shapes (the documented shape's `analysis` holds just these two), unless the
analysis produced none.
"""

from datetime import UTC, datetime

from emulator.generate import Content, content
from emulator.store import IN_PROGRESS, PROCESSING, Record

NOTHING_SAID = Content(turns=[], texts=[], evaluation={}, collected={}, boolean_results=frozenset())


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
    # A call in progress has said nothing yet: its transcript comes with processing.
    said = NOTHING_SAID if record.status == IN_PROGRESS else content(record)
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


def _analysed(record: Record) -> bool:
    """Whether the evaluation and collected data are out: not before processing has ended."""
    return record.status not in (IN_PROGRESS, PROCESSING)


def _documented(record: Record, said: Content) -> dict:
    """The fields of the documented shape that follow the common ones."""
    metadata = {"start_time": iso(record.start)}
    if record.duration is not None:
        metadata["end_time"] = iso(record.start + record.duration)
        metadata["duration"] = record.duration
    metadata |= {"agent_id": record.agent_id, "agent_name": record.agent_name}
    fields = {
        "metadata": metadata | _extra_metadata(record, said),
        "transcript": [
            {"speaker": speaker, "text": text, "timestamp": offset} | _turn_extras(said, index)
            for index, ((speaker, offset), text) in enumerate(
                zip(said.turns, said.texts, strict=True)
            )
        ],
    }
    if not _analysed(record):
        return fields
    if said.summary is not None:
        fields["analysis"] = _summary_fields(said)
    return {
        **fields,
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
    metadata = {"start_time_unix_secs": int(record.start)}
    if record.duration is not None:
        metadata["call_duration_secs"] = record.duration
    return {
        "metadata": metadata | _extra_metadata(record, said),
        "transcript": [
            {"role": speaker, "message": text, "time_in_call_secs": offset}
            | _turn_extras(said, index)
            for index, ((speaker, offset), text) in enumerate(
                zip(said.turns, said.texts, strict=True)
            )
        ],
        # The wild shape has the analysis null until processing has ended.
        "analysis": _wild_analysis(said) if _analysed(record) else None,
    }


def _extra_metadata(record: Record, said: Content) -> dict:
    """Why the call ended, its cost and the caller's feedback, when the call has them: known
    once the call has ended (not while it is in progress)."""
    if record.status == IN_PROGRESS:
        return {}
    extras = said.extras
    fields = {
        "termination_reason": extras.termination_reason,
        "cost": extras.cost,
        "feedback": extras.feedback,
    }
    return {key: value for key, value in fields.items() if value is not None}


def _turn_extras(said: Content, index: int) -> dict:
    """A turn's `interrupted` flag and its tool calls and their results, tied by request id;
    only on the turns that have them."""
    fields = {}
    if index in said.extras.interrupted:
        fields["interrupted"] = True
    calls = said.extras.tools.get(index)
    if calls:
        fields["tool_calls"] = [
            {"request_id": f"req_{index}_{n}", "tool_name": name, "params_as_json": arguments}
            for n, (name, arguments, _, _) in enumerate(calls)
        ]
        fields["tool_results"] = [
            {
                "request_id": f"req_{index}_{n}",
                "tool_name": name,
                "result_value": result,
                "is_error": error,
            }
            for n, (name, _, result, error) in enumerate(calls)
        ]
    return fields


def _summary_fields(said: Content) -> dict:
    return {"transcript_summary": said.summary, "call_summary_title": said.title}


def _wild_analysis(said: Content) -> dict:
    return {
        # Null when the analysis produced no summary.
        **_summary_fields(said),
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
    }
