"""One harness process per cluster name: a claim held from a backend's start to its stop.

Two runs that pick the same cluster name (two `make conformance` on one laptop, CI beside a developer,
two pytest sessions with pytest-kind's default name) would otherwise share one cluster, and the first
to finish would delete it under the other. The claim is an exclusive ``flock`` on a file in the cache
folder (released by the kernel when its process dies, so a crashed run never leaves it stuck); the file
says who holds it, for the one-line refusal the second run gets.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path
from typing import IO

from conformance.errors import EnvironmentProblem


class ClusterClaim:
    def __init__(self, path: Path, what: str, hint: str) -> None:
        self.path = path
        self.what = what  # "the kind cluster 'karta'"
        self.hint = hint  # what the refused run can do instead
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> None:
        """Take the claim, or raise EnvironmentProblem naming the process that holds it."""
        if self._handle is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open until release()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()[:200] or "another process"
            handle.close()
            raise EnvironmentProblem(f"{self.what} is in use by {holder}: {self.hint}") from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        command = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
        handle.write(f"pid {os.getpid()} ({command}, since {started})\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        handle, self._handle = self._handle, None
        try:
            handle.seek(0)
            handle.truncate()
        finally:
            handle.close()  # closing the descriptor drops the flock
