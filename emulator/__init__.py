"""A stand-in for the Xuna platform's conversations API, for tests, benchmarks and `make run`.

It serves deterministic conversations from a seed over real HTTP, and can be told to misbehave
(latency, errors, hangs, broken bodies). The dashboard never imports it: it only talks to it
over HTTP, exactly as it talks to the real platform. Run it with `python -m emulator --help`;
in tests use `emulator.server.Emulator`. Standard library only.

Where a request goes: `handler.py` (sockets) reads it; `routes.py` names its endpoint;
`server.py` (the `Emulator`: state, life cycle, public test API) logs it, delays it, lets a
fault from `faults.py` spoil it, and has `endpoints.py` answer it, as a `responses.Response`.
`control.py` serves `/_emulator/...`. The data: `generate.py` draws conversations from a seed,
using the words in `phrases.py` (and `extras.py` what the platform adds to some: why a call
ended, its cost, the caller's feedback, tool calls, interrupted turns); `arrivals.py` adds
new ones as time passes; `store.py` keeps them; `shapes.py` writes their JSON;
`lenient.py` reads conversations added by hand; `audio.py` synthesises their recordings.
"""
