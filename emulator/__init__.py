"""A stand-in for the Xuna platform's conversations API, for tests, benchmarks and `make run`.

It serves deterministic conversations from a seed over real HTTP, and can be told to misbehave
(latency, errors, hangs, broken bodies). The dashboard never imports it: it only talks to it
over HTTP, exactly as it talks to the real platform. Run it with `python -m emulator --help`;
in tests use `emulator.server.Emulator`. Standard library only.
"""
