"""New conversations while the emulator runs (`arrivals_per_minute`), not final at first.

With a rate, a call starts every 60/rate seconds of the emulator's clock, drawn like the seeded
conversations (generate.py) from a seeded stream of its own, so the same seed gives the same
arrivals. It is listed from its start, so at the head of the list, and goes through the
statuses a platform reports: "in-progress" for the call's duration (no transcript, duration or
recording yet), "processing" for `processing_seconds` (the transcript, no analysis), then
"done" or "failed" with its evaluation and collected data.

Nothing runs in the background: the emulator calls `Arrivals.catch_up` under its lock before it
reads the store, which adds what has become due since the last call. A test that passes its own
clock decides what has happened without sleeping.
"""

import heapq
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import replace

from emulator.generate import Stream
from emulator.lenient import as_number
from emulator.store import IN_PROGRESS, PROCESSING, Record, Store


class Arrivals:
    """The arrivals into one store, and their changes of status. Not thread-safe."""

    def __init__(
        self,
        store: Store,
        seed: int,
        *,
        per_minute: float,
        processing_seconds: float,
        clock: Callable[[], float],
    ):
        for name, value in (
            ("arrivals_per_minute", per_minute),
            ("processing_seconds", processing_seconds),
        ):
            if as_number(value) is None or value < 0:
                raise ValueError(f"{name} must be a non-negative number, not {value!r}.")
        self.per_minute, self.processing_seconds = per_minute, processing_seconds
        self._store = store
        self._stream = Stream(random.Random(f"arrivals:{seed}"), store.agents, store)
        self._clock = clock
        # Arrival times are on the clock; start times map them onto the wall clock.
        self._origin, self._wall_origin = clock(), time.time()
        self._count = 0
        # (when, tie-breaker, the record then in the store, the record that replaces it)
        self._changes: list[tuple[float, int, Record, Record]] = []
        self._order = itertools.count()

    def catch_up(self) -> None:
        """Add the conversations due by now, and move on each one whose status has changed."""
        if not self.per_minute:
            return
        now = self._clock()
        interval = 60 / self.per_minute
        while self._origin + (self._count + 1) * interval <= now:
            self._count += 1
            self._arrive(self._origin + self._count * interval)
        while self._changes and self._changes[0][0] <= now:
            _, _, before, after = heapq.heappop(self._changes)
            # Unless it was deleted (or replaced by hand) meanwhile.
            if self._store.get(before.conversation_id) is before:
                self._store.add(after)

    def _arrive(self, at: float) -> None:
        drawn = self._stream.draw(self._count - 1, self._wall_origin)
        final = replace(drawn, start=self._wall_origin + (at - self._origin))
        processing = replace(final, status=PROCESSING, call_successful="unknown")
        live = replace(
            processing, status=IN_PROGRESS, duration=None, message_count=0, has_audio=False
        )
        self._store.add(live)
        ended = at + final.duration
        self._schedule(ended, live, processing)
        self._schedule(ended + self.processing_seconds, processing, final)

    def _schedule(self, when: float, before: Record, after: Record) -> None:
        heapq.heappush(self._changes, (when, next(self._order), before, after))
