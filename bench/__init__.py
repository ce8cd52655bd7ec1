"""`make bench` (docs/performance.md): the dashboard timed against the platform's own latency.

`__main__.py` runs the measurements and prints the table (`report.py` formats it and writes
RESULTS.md) against the processes `stack.py` starts. Each measurement has its module: P1, P2,
P7, P8 in `list_page.py`, P3 in `conversation_page.py`, P4 in `recording.py`, P5 in `load.py`
(with `reviewers.lua` for wrk), P6 in `first_load.py` (with `browser.py` driving Chromium and
`bare_page.py` serving its floor). The conversation index's rows run on PostgreSQL
(`postgres.py` makes and drops their databases): I1 and I2 in `worker.py`, with the worker
started by `stack.py`; I3, I4 and I5 in `index.py`, which fills the index and exports through
the dashboard's own code in `index_jobs.py`. `timing.py` holds what they share: timed
requests, pairs of runs, percentiles.
"""
