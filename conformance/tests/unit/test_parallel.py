"""conformance/live/parallel.py: the worker pool and the phase gate, with real threads.

Synchronised with Events and Barriers only (a bounded ``wait(WAIT)`` is reached only when the
behaviour under test is broken). The session's use of them (namespaces, merge order, the operator
restart between two scenarios, Ctrl-C) is in test_session.py.
"""

from __future__ import annotations

import threading

import pytest

from conformance.live.parallel import EXCLUSIVE, HELD, WAITS, Cancelled, PhaseGate, run_side_by_side

pytestmark = pytest.mark.unit

WAIT = 30


class _Gate(PhaseGate):
    """The gate, telling the test when it was cancelled."""

    def __init__(self) -> None:
        super().__init__()
        self.was_cancelled = threading.Event()

    def cancel(self) -> None:
        super().cancel()
        self.was_cancelled.set()


def test_no_more_than_workers_run_at_once_and_every_name_runs_once() -> None:
    lock = threading.Lock()
    running: list[str] = []
    most = 0
    pair = threading.Barrier(2, timeout=WAIT)  # the first two run side by side, then the next two

    def work(name: str) -> str:
        nonlocal most
        with lock:
            running.append(name)
            most = max(most, len(running))
        pair.wait()
        with lock:
            running.remove(name)
        return name.upper()

    results = run_side_by_side(["a", "b", "c", "d"], work, 2, PhaseGate())
    assert results == {"a": "A", "b": "B", "c": "C", "d": "D"}
    assert most == 2


def test_a_crash_cancels_the_others_and_is_raised_once_they_stopped() -> None:
    gate = _Gate()
    lane_started = threading.Event()
    stopped: list[str] = []

    def work(name: str) -> str:
        if name == "crashes":
            assert lane_started.wait(WAIT)
            raise OSError("no namespace for you")
        lane = gate.lane(name)
        with lane.holding():
            lane_started.set()
            try:
                assert gate.was_cancelled.wait(WAIT)
                lane.check()  # what a scenario's next poll does
                return "not stopped"
            finally:
                stopped.append(name)

    with pytest.raises(OSError, match="no namespace for you"):
        run_side_by_side(["polls", "crashes", "never-starts"], work, 2, gate)
    assert stopped == ["polls"]  # stopped before the crash was raised; the third never started


def test_cancel_wakes_a_lane_held_at_a_boundary_and_a_waiting_exclusive_step() -> None:
    seen = {key: threading.Event() for key in ((WAITS, "first"), (HELD, "held"), (WAITS, "second"))}
    exclusive_began: list[str] = []

    def observe(event: str, lane: str) -> None:
        if (event, lane) in seen:
            seen[(event, lane)].set()
        if event == EXCLUSIVE:
            exclusive_began.append(lane)

    gate = PhaseGate(observe)
    first, second, held = gate.lane("first"), gate.lane("second"), gate.lane("held")
    held_in, in_exclusive = threading.Event(), threading.Event()
    raised: list[str] = []

    def exclusive_first() -> None:
        assert held_in.wait(WAIT)
        with first.holding(), first.exclusive():  # waits for "held" to reach its boundary
            in_exclusive.set()
            assert seen[(HELD, "held")].wait(WAIT) and seen[(WAITS, "second")].wait(WAIT)
            gate.cancel()

    def at_boundary() -> None:
        with held.holding():
            held_in.set()
            assert seen[(WAITS, "first")].wait(WAIT)
            try:
                held.boundary()
                raised.append("held went on")
            except Cancelled:
                raised.append("held")

    def exclusive_second() -> None:
        assert in_exclusive.wait(WAIT)
        try:
            with second.exclusive():
                raised.append("second ran")
        except Cancelled:
            raised.append("second")

    threads = [threading.Thread(target=f) for f in (exclusive_first, at_boundary, exclusive_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive()
    assert sorted(raised) == ["held", "second"]
    assert exclusive_began == ["first"]


def test_two_exclusive_steps_take_turns() -> None:
    asked: dict[str, threading.Event] = {"one": threading.Event(), "two": threading.Event()}

    def observe(event: str, lane: str) -> None:
        if event == WAITS:
            asked[lane].set()

    gate = PhaseGate(observe)
    lock = threading.Lock()
    inside: list[str] = []
    entered: list[str] = []
    overlapped: list[list[str]] = []
    both_ask = threading.Barrier(2, timeout=WAIT)

    def step(name: str) -> None:
        lane = gate.lane(name)
        with lane.holding():
            both_ask.wait()  # both mid-phase, then both ask for an exclusive step
            with lane.exclusive():
                with lock:
                    inside.append(name)
                    entered.append(name)
                    if len(inside) > 1:
                        overlapped.append(list(inside))
                if len(entered) == 1:  # the first in holds on until the other is seen waiting its turn
                    assert asked["two" if name == "one" else "one"].wait(WAIT)
                with lock:
                    inside.remove(name)

    run_side_by_side(["one", "two"], step, 2, gate)
    assert overlapped == []
