"""Scenarios side by side: a bounded pool of worker threads, and the gate that keeps a disruptive
step (the KubeRay operator restarting) from overlapping any other scenario's phase.

Every scenario runs in its own namespace, but all of them share one cluster and one KubeRay
operator. A fault that restarts the operator disturbs every workload it reconciles, not only the
scenario that asked for it: another scenario's wait would include the downtime, and its workload
would be reconciled by a freshly started operator in the middle of a transition that scenario is
about to snapshot as settled. So a scenario holds a share of the gate while it is *mid-phase* (from
its start, or from a settled snapshot, to its next settled snapshot or its end), and an exclusive
step waits until no other scenario is mid-phase and holds every other scenario at its next phase
boundary (or its start) until the step is done. While the operator is down every other workload is
therefore settled and no harness action on it is in flight.

Ctrl-C (or a scenario that crashes the run) cancels the gate: every scenario stops at its next
bounded wait or phase boundary, and its namespace is deleted as its block unwinds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

# What the gate tells its observer (the session prints them as progress lines).
WAITS = "waits"  # an exclusive step waits for the other scenarios to reach a phase boundary
EXCLUSIVE = "exclusive"  # the exclusive step runs: no other scenario is mid-phase
RELEASED = "released"  # the exclusive step is done: the others go on
HELD = "held"  # a scenario is held at a phase boundary (or its start) while an exclusive step waits or runs


class Cancelled(BaseException):
    """The run was interrupted (Ctrl-C, or another scenario crashed it): stop here and clean up.

    A BaseException, so that a scenario's ``except Exception`` (which turns a failure into a verdict
    with diagnostics) lets it through."""


class PhaseGate:
    """Shared by the scenarios of one run; each scenario takes a :class:`Lane`."""

    def __init__(self, observe: Callable[[str, str], None] | None = None) -> None:
        self._observe = observe or (lambda event, lane: None)
        self._changed = threading.Condition()
        self._mid_phase = 0  # lanes holding a share
        self._waiting = 0  # exclusive steps waiting for the others
        self._exclusive = False
        self._cancelled = False

    def lane(self, name: str) -> Lane:
        return Lane(self, name)

    def cancel(self) -> None:
        with self._changed:
            self._cancelled = True
            self._changed.notify_all()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    # -- used by Lane, under self._changed ---------------------------------------------------

    def _blocked(self) -> bool:
        return self._exclusive or self._waiting > 0

    def _wait_for_turn(self, lane: str) -> None:
        """Until no exclusive step waits or runs; then take a share."""
        if self._blocked() and not self._cancelled:
            self._observe(HELD, lane)
        while self._blocked() and not self._cancelled:
            self._changed.wait()
        if self._cancelled:
            raise Cancelled()
        self._mid_phase += 1

    def _leave(self) -> None:
        self._mid_phase -= 1
        self._changed.notify_all()


class Lane:
    """One scenario's view of the gate."""

    def __init__(self, gate: PhaseGate, name: str) -> None:
        self.gate = gate
        self.name = name
        self._holding = False

    def check(self) -> None:
        """Raise :class:`Cancelled` if the run was interrupted (called at every poll of a wait)."""
        if self.gate.cancelled:
            raise Cancelled()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Mid-phase from here (the scenario's start) until the block ends (the scenario's end)."""
        with self.gate._changed:
            self.gate._wait_for_turn(self.name)
            self._holding = True
        try:
            yield
        finally:
            with self.gate._changed:
                if self._holding:
                    self._holding = False
                    self.gate._leave()

    def boundary(self) -> None:
        """A phase boundary (a settled snapshot was taken): let a waiting exclusive step in."""
        with self.gate._changed:
            if self.gate.cancelled:
                raise Cancelled()
            if not self._holding or not self.gate._blocked():
                return
            self._holding = False
            self.gate._leave()
            self.gate._wait_for_turn(self.name)
            self._holding = True

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Run the block while no other scenario is mid-phase (the caller gives up its own share
        while it waits; it is at a phase boundary of its own). No deadline of its own: each other
        scenario reaches a boundary or ends within its own bounded waits."""
        gate = self.gate
        with gate._changed:
            was_holding = self._holding
            if was_holding:
                self._holding = False
                gate._leave()
            gate._waiting += 1
            try:
                if gate._mid_phase or gate._exclusive:
                    self.gate._observe(WAITS, self.name)
                while (gate._mid_phase or gate._exclusive) and not gate._cancelled:
                    gate._changed.wait()
                if gate._cancelled:
                    raise Cancelled()
            finally:
                gate._waiting -= 1
                gate._changed.notify_all()
            gate._exclusive = True
            gate._observe(EXCLUSIVE, self.name)
        try:
            yield
        finally:
            with gate._changed:
                gate._exclusive = False
                gate._observe(RELEASED, self.name)
                if was_holding:
                    # back to mid-phase at once (the caller goes on with its phase), even if another
                    # exclusive step waits: this lane yields at its next boundary
                    gate._mid_phase += 1
                    self._holding = True
                gate._changed.notify_all()


def _ended(ended: threading.Semaphore) -> int:
    """1 when a thread ended, else 0 after a second: a Ctrl-C that arrives just before a blocking
    acquire is only acted on once the acquire returns, so it never blocks for long."""
    return 1 if ended.acquire(timeout=1.0) else 0


def run_side_by_side(
    names: Sequence[str],
    work: Callable[[str], T],
    workers: int,
    gate: PhaseGate,
    interrupted: Callable[[int], None] = lambda running: None,
) -> dict[str, T]:
    """``work(name)`` for every name on at most ``workers`` threads, started in the order given.

    Returns each name's result (the caller merges them in its own order, never completion order).
    ``work`` handles a scenario's failure itself; an exception escaping it (an API server that
    refuses a namespace, say) cancels the others and is raised once every thread has stopped (the
    first in ``names`` order). Ctrl-C in the calling thread does the same: the gate is cancelled,
    ``interrupted`` is told how many threads are still unwinding, and once they have (each deletes
    its namespace on the way out; a second Ctrl-C stops waiting) the KeyboardInterrupt goes on."""
    queue = list(names)
    results: dict[str, T] = {}
    crashed: dict[str, BaseException] = {}
    lock = threading.Lock()
    # Each thread releases this once when it ends. The caller waits on it rather than on
    # Thread.join(): a join interrupted by Ctrl-C marks the thread it waited for as stopped while it
    # still runs (CPython 3.11, bpo-45274's fix), and a second join would then not wait for it.
    ended = threading.Semaphore(0)

    def next_name() -> str | None:
        with lock:
            return queue.pop(0) if queue and not gate.cancelled else None

    def worker() -> None:
        try:
            while (name := next_name()) is not None:
                try:
                    result = work(name)
                except Cancelled:
                    return
                except BaseException as error:  # recorded, raised by the caller's thread
                    with lock:
                        crashed[name] = error
                    gate.cancel()
                    return
                with lock:
                    results[name] = result
        finally:
            ended.release()

    threads = [
        threading.Thread(target=worker, name=f"karta-scenario-{index + 1}", daemon=True)
        for index in range(max(1, min(workers, len(queue))))
    ]
    started = waited = 0
    try:
        for thread in threads:
            # counted before start(): a Ctrl-C that interrupts start() (it waits for the new thread
            # to run) leaves that thread running, and it is waited for like the others
            started += 1
            try:
                thread.start()
            except Exception:  # no thread (the system refused one): nothing to wait for
                started -= 1
                raise
        while waited < started:
            waited += _ended(ended)
    except BaseException:
        gate.cancel()
        interrupted(started - waited)
        while waited < started:
            waited += _ended(ended)
        raise
    for name in names:
        if name in crashed:
            raise crashed[name]
    return results
