"""Measurements shared by the benchmark scripts (scripts/bench-*): memory of the backend, phase timings."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from conformance.snapshot import Snapshot
from conformance.toolchain import cache


def backend_rss_kib() -> int:
    """Resident memory of every process of the local backend: binaries and Ray under the cache, the runtime."""
    root = str(cache.cache_root())
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{entry}/exe")
            cmdline = (
                Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
            if not (exe.startswith(root) or root in cmdline or "conformance.backends.local" in cmdline):
                continue
            for line in Path(f"/proc/{entry}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class PeakSampler:
    """Samples backend_rss_kib() once a second in the background; ``peak_kib`` is the highest seen."""

    def __init__(self) -> None:
        self.peak_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(1.0):
            self.peak_kib = max(self.peak_kib, backend_rss_kib())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()


SPANS = {
    "RayService create -> Ready": (("rayservice", "created"), ("rayservice", "ready")),
    "RayService upgrade applied -> promoted (incl. the held pending phase and its faults)": (
        ("rayservice", "ready"),
        ("rayservice", "promoted"),
    ),
    "RayJob (K8sJobMode) create -> succeeded": (("rayjob", "created"), ("rayjob", "succeeded")),
    "RayJob (HTTPMode) create -> succeeded": (
        ("rayjob-httpmode", "created"),
        ("rayjob-httpmode", "succeeded"),
    ),
}


def phase_times(snapshots: list[Snapshot]) -> dict[str, float]:
    """Seconds between snapshots (each is taken as soon as its phase is reached)."""
    at = {(s.scenario, s.phase): s.taken_at for s in snapshots}
    return {name: at[end] - at[start] for name, (start, end) in SPANS.items() if start in at and end in at}
