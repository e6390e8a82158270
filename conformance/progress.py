"""Progress lines for long steps, on stderr, with elapsed time."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_LINES = threading.Lock()


def say(message: str) -> None:
    """One whole line (scenarios running side by side on threads never interleave within a line)."""
    with _LINES:
        sys.stderr.write(f"[karta-conformance] {message}\n")
        sys.stderr.flush()


@contextmanager
def step(title: str, heartbeat: float = 30.0) -> Iterator[None]:
    """Announce a step, print a heartbeat while it runs, and its duration when it ends."""
    say(f"{title} ...")
    started = time.monotonic()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(heartbeat):
            say(f"  still: {title} ({time.monotonic() - started:.0f} s)")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    except BaseException:
        done.set()
        say(f"{title}: failed after {time.monotonic() - started:.1f} s")
        raise
    done.set()
    say(f"{title}: done in {time.monotonic() - started:.1f} s")
