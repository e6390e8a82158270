"""``backends/local/processes.py``: stopping several processes at once (a teardown takes the slowest one's
time, not the sum)."""

from __future__ import annotations

import subprocess
import sys
import time

from conformance.backends.local import processes

IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
ENDS_ON_TERM = "import time; print('ready', flush=True); time.sleep(60)"


def _started(code: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"
    return process


def test_stop_many_ends_them_together_and_kills_one_that_ignores_sigterm() -> None:
    polite = [_started(ENDS_ON_TERM) for _ in range(3)]
    stubborn = _started(IGNORES_TERM)
    began = time.monotonic()
    processes.stop_many([p.pid for p in [*polite, stubborn]], grace=1.0)
    took = time.monotonic() - began
    assert all(not processes.alive(p.pid) for p in [*polite, stubborn])
    # (stop_many reaps its own children, so their exit codes are gone: the time says what happened)
    assert took >= 1.0, "the one that ignores SIGTERM was given its grace before SIGKILL"
    assert took < 3.0, f"four processes took {took:.1f} s: one grace for all, not one each"


def test_stop_many_of_nothing_or_the_gone_returns_at_once() -> None:
    gone = _started(ENDS_ON_TERM)
    gone.terminate()
    gone.wait(timeout=5)
    began = time.monotonic()
    processes.stop_many([], grace=5.0)
    processes.stop_many([gone.pid], grace=5.0)
    assert time.monotonic() - began < 1.0
