"""Synthetic call recordings: a WAV file computed on the fly, one tone per speaker.

A recording of an hour is about 57 MB, so no byte of it is stored: any range of the file is
computed from the turn timeline when it is asked for, a chunk at a time. Each tone is kept as
one second of samples; integer frequencies complete whole cycles in one second, so that buffer
tiles seamlessly and the sample at time t is simply `buffer[t % one_second]`.
"""

import array
import bisect
import functools
import math
import struct
import sys
from collections.abc import Iterator, Sequence

SAMPLE_RATE = 8000
SAMPLE_WIDTH = 2  # PCM 16-bit
HEADER_SIZE = 44
CHUNK_SIZE = 64 * 1024
TONES = {"agent": 440, "user": 660}
OTHER_TONE = 550  # any other speaker label a hand-written conversation may use
AMPLITUDE = 0.2  # of full scale: audible, not harsh

_SILENCE = bytes(SAMPLE_RATE * SAMPLE_WIDTH)


@functools.cache
def _tone(frequency: int) -> bytes:
    """One second of a sine at `frequency` Hz as little-endian 16-bit samples."""
    peak = AMPLITUDE * 32767
    samples = array.array(
        "h",
        (
            round(peak * math.sin(2 * math.pi * frequency * n / SAMPLE_RATE))
            for n in range(SAMPLE_RATE)
        ),
    )
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def wav_header(sample_count: int) -> bytes:
    data_size = sample_count * SAMPLE_WIDTH
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,  # size of the fmt chunk
        1,  # PCM
        1,  # mono
        SAMPLE_RATE,
        SAMPLE_RATE * SAMPLE_WIDTH,  # bytes per second
        SAMPLE_WIDTH,  # block align
        8 * SAMPLE_WIDTH,  # bits per sample
        b"data",
        data_size,
    )


class Recording:
    """The WAV file of one call: each turn's tone from its offset until the next turn starts."""

    def __init__(self, duration: float, turns: Sequence[tuple[str, float]]):
        self.sample_count = max(0, round(duration * SAMPLE_RATE))
        self.size = HEADER_SIZE + self.sample_count * SAMPLE_WIDTH
        self._header = wav_header(self.sample_count)
        # Segment i covers samples [starts[i], starts[i + 1]) with periods[i]; silence until the
        # first turn. Offsets that go backwards are clamped, so segments never overlap.
        self._starts = [0]
        self._periods = [_SILENCE]
        for speaker, offset in turns:
            start = min(max(round(offset * SAMPLE_RATE), self._starts[-1]), self.sample_count)
            period = _tone(TONES.get(speaker, OTHER_TONE))
            if start == self._starts[-1]:
                self._periods[-1] = period
            else:
                self._starts.append(start)
                self._periods.append(period)

    def chunks(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """The file's bytes [start, stop), at most CHUNK_SIZE at a time."""
        stop = self.size if stop is None else min(stop, self.size)
        position = start
        while position < stop:
            end = min(stop, position + CHUNK_SIZE)
            yield self._read(position, end)
            position = end

    def _read(self, start: int, stop: int) -> bytes:
        parts = []
        if start < HEADER_SIZE:
            parts.append(self._header[start : min(stop, HEADER_SIZE)])
        data_start = max(start, HEADER_SIZE) - HEADER_SIZE
        data_stop = stop - HEADER_SIZE
        if data_stop > data_start:
            # A range may begin or end inside a sample: compute whole samples, then slice.
            first = data_start // SAMPLE_WIDTH
            last = -(-data_stop // SAMPLE_WIDTH)
            skip = data_start - first * SAMPLE_WIDTH
            parts.append(self._samples(first, last)[skip : skip + data_stop - data_start])
        return b"".join(parts)

    def _samples(self, first: int, last: int) -> bytes:
        out = bytearray()
        index = bisect.bisect_right(self._starts, first) - 1
        position = first
        while position < last:
            following = self._starts[index + 1] if index + 1 < len(self._starts) else last
            end = min(last, following)
            _tile(out, self._periods[index], position, end)
            position = end
            index += 1
        return bytes(out)


def _tile(out: bytearray, period: bytes, first: int, last: int) -> None:
    """Append samples [first, last) of a signal that repeats every second."""
    view = memoryview(period)
    offset = (first % SAMPLE_RATE) * SAMPLE_WIDTH
    remaining = (last - first) * SAMPLE_WIDTH
    while remaining:
        take = min(remaining, len(period) - offset)
        out += view[offset : offset + take]
        remaining -= take
        offset = 0
