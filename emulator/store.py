"""The store of conversations: what is known about each one, and pages of them newest first.

A `Record` is a conversation's list summary plus what is needed to build its detail (see
`emulator/shapes.py`); the `Store` keeps them by id and in sort order, per agent too.
"""

import bisect
from dataclasses import dataclass

# A generated conversation ends "done" or "failed"; one that arrives while the emulator runs
# (emulator/arrivals.py) is first "in-progress", then "processing".
IN_PROGRESS, PROCESSING = "in-progress", "processing"


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    topic: str


@dataclass(frozen=True)
class Record:
    """What the store knows about one conversation: its list summary and how to build its detail.

    A generated conversation is rebuilt from `seed` on demand; one added by hand keeps the JSON
    it was given in `raw`, and its summary fields are whatever could be read from that JSON.
    """

    conversation_id: str
    agent_id: str | None
    agent_name: str | None
    start: float  # unix seconds
    duration: int | None
    status: str | None
    call_successful: str
    message_count: int
    seed: int = 0
    topic: str = "support"
    has_audio: bool = False
    wild: bool = False  # the undocumented field names, see the contract
    flavor: str = ""  # "", "markup", or a language: "ru", "ja", "ar", "de", "zh"
    raw: dict | None = None

    @property
    def sort_key(self) -> tuple[float, str]:
        return (self.start, self.conversation_id)


class Store:
    """Conversations by id, plus sort keys in ascending order (all, and per agent).

    A page is a slice ending just before the cursor's key, found by bisection, so its cost does
    not depend on how deep into the list it is. Not thread-safe: the server holds a lock.
    """

    def __init__(self, agents: list[Agent], records: list[Record]):
        self.agents = agents
        self._records = {record.conversation_id: record for record in records}
        self._keys = sorted(record.sort_key for record in records)
        self._keys_by_agent: dict[str | None, list[tuple[float, str]]] = {}
        for key in self._keys:
            self._keys_by_agent.setdefault(self._records[key[1]].agent_id, []).append(key)

    def get(self, conversation_id: str) -> Record | None:
        return self._records.get(conversation_id)

    def __contains__(self, conversation_id: str) -> bool:
        return conversation_id in self._records

    def add(self, record: Record) -> None:
        self.delete(record.conversation_id)
        self._records[record.conversation_id] = record
        bisect.insort(self._keys, record.sort_key)
        bisect.insort(self._keys_by_agent.setdefault(record.agent_id, []), record.sort_key)

    def delete(self, conversation_id: str) -> bool:
        record = self._records.pop(conversation_id, None)
        if record is None:
            return False
        for keys in (self._keys, self._keys_by_agent[record.agent_id]):
            del keys[bisect.bisect_left(keys, record.sort_key)]
        return True

    def page(
        self, agent_id: str | None, after: tuple[float, str] | None, size: int
    ) -> tuple[list[Record], bool]:
        """Up to `size` records older than `after`, newest first, and whether more follow."""
        keys = self._keys if agent_id is None else self._keys_by_agent.get(agent_id, [])
        end = len(keys) if after is None else bisect.bisect_left(keys, after)
        begin = max(0, end - size)
        return [self._records[key[1]] for key in reversed(keys[begin:end])], begin > 0

    def ids(self, agent_id: str | None = None) -> list[str]:
        keys = self._keys if agent_id is None else self._keys_by_agent.get(agent_id, [])
        return [key[1] for key in reversed(keys)]
