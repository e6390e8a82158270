"""The live session: namespace names, the capability a phase needs, its verdicts; and scenarios run
side by side (real threads, a fake registry and API): results merged in the given order, a failure
keeping everyone's snapshots, the operator restart alone, Ctrl-C and crashes cleaning up."""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from conformance.backends.base import Capability, Provider
from conformance.definition import load_path
from conformance.errors import EnvironmentProblem, UserError
from conformance.k8s.client import Kube, wait_until
from conformance.kuberay import serve_endpoints_dropped
from conformance.live.capture import Snapshotter
from conformance.live.parallel import EXCLUSIVE, HELD, WAITS
from conformance.live.scenarios import (
    REGISTRY,
    Context,
    PhaseUnverified,
    Scenario,
    ScenarioFailed,
    default_scenarios,
)
from conformance.live.session import (
    GATE_LINES,
    LiveResult,
    LiveSession,
    check_parallel,
    labelled,
    namespace_name,
    scenario_verdicts,
    start_order,
)
from conformance.snapshot import Expectation, Snapshot
from conformance.tests.helpers import DEFINITIONS
from conformance.verdict import Outcome

pytestmark = pytest.mark.unit


class _NoGate:
    name = "existing"
    capabilities = frozenset({Capability.APP_UNHEALTHY})

    def lacks(self, capability: Capability) -> str:
        return "" if capability in self.capabilities else f"no {capability} here"


def _context(provider: object, said: list[str]) -> Context:
    kube = cast(Kube, None)
    return Context(kube, cast(Provider, provider), "ns", cast(Snapshotter, None), said.append)


def test_namespace_name_is_a_dns_label_after_the_label() -> None:
    name = namespace_name("test_broken_definition[gang merges active and pending]")
    assert re.fullmatch(r"kc-test-broken-definition-gang-me-[0-9a-f]{5}", name), name
    assert re.fullmatch(r"kc-rayservice-[0-9a-f]{5}", namespace_name("rayservice"))


def test_a_phase_needing_a_missing_capability_is_unverified_with_the_reason() -> None:
    said: list[str] = []
    context = _context(_NoGate(), said)
    assert context.able(Capability.APP_UNHEALTHY, "rayservice", "app-unhealthy") is True
    assert context.unverified == []
    assert (
        context.able(Capability.GATE, "rayservice", "upgrade-pending", "upgrade-pending-recovered") is False
    )
    reason = "the existing backend cannot hold-new-heads: no hold-new-heads here"
    assert context.unverified == [
        PhaseUnverified("rayservice", "upgrade-pending", reason),
        PhaseUnverified("rayservice", "upgrade-pending-recovered", reason),
    ]
    assert said == [
        f"  [rayservice] UNVERIFIED upgrade-pending: {reason}",
        f"  [rayservice] UNVERIFIED upgrade-pending-recovered: {reason}",
    ]


def test_unverified_phases_and_failures_become_verdicts_of_definitions_of_that_kind() -> None:
    definitions = {d.name: d for d in load_path(DEFINITIONS)}
    result = LiveResult(
        unverified=[PhaseUnverified("rayservice", "upgrade-pending-recovered", "the x backend cannot y: z")],
        failures=[ScenarioFailed("rayjob", "running", "timed out")],
    )
    verdicts = scenario_verdicts(result, list(definitions.values()))
    got = sorted((v.definition, v.phase, v.outcome, v.message) for v in verdicts)
    assert got == [
        ("rayjob", "rayjob/running", Outcome.ERROR, "scenario rayjob, phase running: timed out"),
        (
            "rayservice",
            "rayservice/upgrade-pending-recovered",
            Outcome.UNVERIFIED,
            "the x backend cannot y: z",
        ),
    ]
    assert all(v.claim == "scenario" for v in verdicts)


def test_the_cli_and_pytest_write_reports_through_one_function(tmp_path: Path) -> None:
    from conformance.report import formats

    (definition,) = [d for d in load_path(DEFINITIONS) if d.name == "rayservice"]
    verdicts = scenario_verdicts(
        LiveResult(unverified=[PhaseUnverified("rayservice", "app-unhealthy", "why")]), [definition]
    )
    meta: dict[str, Any] = {"mode": "live"}
    formats.write_reports(
        verdicts,
        "backend x",
        meta,
        json_path=tmp_path / "r.json",
        junit=tmp_path / "j.xml",
        markdown_path=tmp_path / "s.md",
    )
    assert '"outcome": "unverified"' in (tmp_path / "r.json").read_text()
    assert 'name="karta-conformance live"' in (tmp_path / "j.xml").read_text()
    assert "backend x" in (tmp_path / "s.md").read_text()


# -- scenarios side by side (real threads, a fake registry; Events and Barriers, no sleeps) ------

WAIT = 30  # seconds: only ever reached when the behaviour under test is broken


class _Kube:
    """The API as the session and the Snapshotter use it: namespaces recorded, one root object."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.created: list[str] = []
        self.deleted: list[str] = []

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        with self.lock:
            self.created.append(name)

    def delete_namespace(self, name: str) -> None:
        with self.lock:
            self.deleted.append(name)

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "uid": f"u-{namespace}"}}

    def list_objects(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        return []

    def events(self, namespace: str) -> list[dict[str, Any]]:
        return []

    def resources(self) -> list[Any]:
        return []

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float) -> Any:
        return wait_until(what, probe, timeout)


class _Provider:
    name = "fake"
    timeout_scale = 1.0
    batch_scheduler = ""
    parallel = 3
    capabilities = frozenset(Capability)
    kuberay_version = "v1.6.2"

    def __init__(self) -> None:
        self.restart: Callable[[], None] = lambda: None
        self.prepare: Callable[[str], None] = lambda namespace: None

    def lacks(self, capability: Capability) -> str:
        return ""

    def prepare_namespace(self, namespace: str) -> None:
        self.prepare(namespace)

    def logs(self) -> list[Path]:
        return []

    def restart_operator(self) -> None:
        self.restart()


def _session(tmp_path: Path, parallel: int = 3) -> tuple[LiveSession, _Kube, _Provider, list[str]]:
    kube, provider = _Kube(), _Provider()
    lines: list[str] = []
    session = LiveSession(cast(Provider, provider), tmp_path, lines.append, parallel=parallel)
    session._kube = cast(Kube, kube)
    return session, kube, provider, lines


def _snap(ctx: Context, scenario: str, phase: str) -> Snapshot:
    return ctx.snap(scenario, phase, ("v1", "ConfigMap", "root"), Expectation(statuses=["running"]))


def _registry(**runs: Callable[[Context], Any]) -> dict[str, Scenario]:
    return {name.replace("_", "-"): Scenario(name, run, "RayCluster") for name, run in runs.items()}


def test_results_merge_in_the_order_given_not_the_order_scenarios_finish(tmp_path: Path) -> None:
    session, kube, _, lines = _session(tmp_path)
    finished = {name: threading.Event() for name in "abc"}
    taken: list[str] = []

    def scenario(name: str, after: str | None) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            if after:
                assert finished[after].wait(WAIT), f"{name} waited for {after} in vain"
            _snap(ctx, name, "first")
            _snap(ctx, name, "second")
            taken.append(name)
            finished[name].set()

        return run

    registry = _registry(a=scenario("a", "b"), b=scenario("b", "c"), c=scenario("c", None))
    result = session.run_scenarios(["a", "b", "c"], registry=registry)
    assert taken == ["c", "b", "a"]  # all three ran side by side and finished in reverse
    assert [(s.scenario, s.phase) for s in result.snapshots] == [
        (name, phase) for name in "abc" for phase in ("first", "second")
    ]
    assert list(result.seconds) == ["a", "b", "c"]
    assert sorted(kube.deleted) == sorted(kube.created) and len(set(kube.created)) == 3
    # every line of a scenario names it
    assert lines[0] == "3 scenarios, 3 at a time (--parallel)"
    for line in lines[1:]:
        assert re.match(r"\[[abc]\] ", line), line
    assert any(re.fullmatch(r"\[c\] snapshot: first \(\+\d+ s\)", line) for line in lines), lines


def test_a_failing_scenario_keeps_its_snapshots_and_the_others_theirs(tmp_path: Path) -> None:
    session, kube, _, lines = _session(tmp_path, parallel=2)
    side_by_side = threading.Barrier(2, timeout=WAIT)

    def breaks(ctx: Context) -> None:
        _snap(ctx, "breaks", "created")
        side_by_side.wait()
        raise RuntimeError("the workload vanished")

    def holds(ctx: Context) -> None:
        _snap(ctx, "holds", "created")
        side_by_side.wait()
        _snap(ctx, "holds", "ready")

    result = session.run_scenarios(["breaks", "holds"], registry=_registry(breaks=breaks, holds=holds))
    assert [(s.scenario, s.phase) for s in result.snapshots] == [
        ("breaks", "created"),
        ("holds", "created"),
        ("holds", "ready"),
    ]
    assert [(f.scenario, f.phase) for f in result.failures] == [("breaks", "unexpected")]
    assert "the workload vanished" in str(result.failures[0])
    (folder,) = result.diagnostics
    assert "the workload vanished" in (folder / "what-happened.txt").read_text()
    assert any(line.startswith("[breaks] FAILED: ") for line in lines)
    assert sorted(kube.deleted) == sorted(kube.created) and len(kube.created) == 2


def test_the_operator_restart_never_overlaps_a_phase_of_another_scenario(tmp_path: Path) -> None:
    """``restarts`` asks for the restart while ``other`` is mid-phase: the restart waits until
    ``other`` took its settled snapshot, and ``other`` waits at that boundary until the restart is
    done. A gate that let either through would put an ``other`` entry inside the restart."""
    session, _, provider, lines = _session(tmp_path, parallel=2)
    timeline: list[str] = []
    mid_phase, restart_waits, other_held = threading.Event(), threading.Event(), threading.Event()
    say = session.progress

    def progress(line: str) -> None:
        say(line)
        if line == "[restarts] " + GATE_LINES[WAITS]:
            restart_waits.set()
        if line == "[other] " + GATE_LINES[HELD]:
            other_held.set()

    session.progress = progress

    def restart() -> None:
        timeline.append("restart begins")
        assert other_held.wait(WAIT), "the other scenario was not held at its phase boundary"
        timeline.append("restart ends")

    provider.restart = restart

    def restarts(ctx: Context) -> None:
        assert mid_phase.wait(WAIT)
        ctx.restart_operator()
        _snap(ctx, "restarts", "recovered")

    def other(ctx: Context) -> None:
        timeline.append("other: phase 1")
        mid_phase.set()
        assert restart_waits.wait(WAIT), "the restart did not wait for the scenario mid-phase"
        timeline.append("other: phase 1 settled")
        _snap(ctx, "other", "settled")  # a phase boundary: the restart runs here
        timeline.append("other: phase 2")

    result = session.run_scenarios(["restarts", "other"], registry=_registry(restarts=restarts, other=other))
    assert not result.failures, [str(f) for f in result.failures]
    assert timeline == [
        "other: phase 1",
        "other: phase 1 settled",
        "restart begins",
        "restart ends",
        "other: phase 2",
    ]
    assert "[restarts] " + GATE_LINES[EXCLUSIVE] in lines


def test_a_crash_outside_a_scenario_stops_the_others_and_cleans_up_every_namespace(tmp_path: Path) -> None:
    session, kube, provider, lines = _session(tmp_path, parallel=2)
    polled = threading.Event()

    def prepare(namespace: str) -> None:
        if namespace.startswith("kc-second-"):
            assert polled.wait(WAIT)
            raise EnvironmentProblem("kubectl apply failed: the API server went away")

    provider.prepare = prepare

    def first(ctx: Context) -> None:
        def never() -> None:
            polled.set()

        ctx.wait("first", "ready", "what never comes", never, WAIT)

    def second(ctx: Context) -> None:
        raise AssertionError("never runs: its namespace could not be prepared")

    with pytest.raises(EnvironmentProblem, match="the API server went away"):
        session.run_scenarios(["first", "second"], registry=_registry(first=first, second=second))
    assert sorted(kube.deleted) == sorted(kube.created) and len(kube.created) == 2
    assert not [line for line in lines if "FAILED" in line]  # stopped, not left to time out


def test_ctrl_c_stops_every_scenario_and_deletes_its_namespace(tmp_path: Path) -> None:
    # Ctrl-C as an interactive terminal delivers it: a process started in the background by a
    # non-interactive shell (`cmd &`, as some CI launchers do) inherits SIGINT ignored, and Python then
    # leaves it ignored, so the signal below would never arrive.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_stops_every_scenario(tmp_path)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_stops_every_scenario(tmp_path: Path) -> None:
    session, kube, _, lines = _session(tmp_path, parallel=2)
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    both = threading.Barrier(2, timeout=WAIT)

    def waiting(name: str, interrupts: bool) -> Callable[[Context], None]:
        def run(ctx: Context) -> None:
            polls: list[None] = []

            def probe() -> None:
                polls.append(None)
                if len(polls) == 1:
                    both.wait()  # both scenarios are polling
                    if interrupts:
                        signal.pthread_kill(main, signal.SIGINT)  # as Ctrl-C does

            ctx.wait(name, "ready", "what never comes", probe, WAIT)

        return run

    registry = _registry(one=waiting("one", True), two=waiting("two", False))
    with pytest.raises(KeyboardInterrupt):
        session.run_scenarios(["one", "two"], registry=registry)
    assert sorted(kube.deleted) == sorted(kube.created) and len(kube.created) == 2
    assert any(line.startswith("interrupted: ") for line in lines)
    assert not [line for line in lines if "FAILED" in line]  # stopped, not left to time out


def test_the_slow_scenarios_start_first_and_results_keep_the_given_order() -> None:
    registry = {
        "quick": Scenario("quick", lambda ctx: [], "RayCluster"),
        "long": Scenario("long", lambda ctx: [], "RayService", slow=True),
        "quick-too": Scenario("quick-too", lambda ctx: [], "RayJob"),
    }
    assert start_order(["quick", "long", "quick-too"], registry) == ["long", "quick", "quick-too"]
    assert start_order(default_scenarios(), REGISTRY)[0] == "rayservice"


def test_parallel_is_one_to_eight_and_defaults_to_the_backends(tmp_path: Path) -> None:
    assert LiveSession(cast(Provider, _Provider()), tmp_path).parallel == 3
    assert LiveSession(cast(Provider, _Provider()), tmp_path, parallel=1).parallel == 1
    for wrong in (0, -1, 9):
        with pytest.raises(UserError, match=r"--parallel takes 1 to 8"):
            check_parallel(wrong)


def test_a_line_of_a_scenario_is_prefixed_with_its_name_once() -> None:
    assert labelled("rayjob", "  [rayjob] snapshot: running") == "[rayjob] snapshot: running"
    assert labelled("rayjob", "scenario rayjob: 64 s") == "[rayjob] scenario rayjob: 64 s"
    assert labelled("rayjob", "[rayjob-httpmode] x") == "[rayjob] [rayjob-httpmode] x"


def test_serve_endpoints_dropped_is_ready_false_with_reason_zero_serve_endpoints() -> None:
    def service(status: str, reason: str) -> dict[str, Any]:
        return {"status": {"conditions": [{"type": "Ready", "status": status, "reason": reason}]}}

    assert serve_endpoints_dropped(service("False", "ZeroServeEndpoints"))
    assert not serve_endpoints_dropped(service("True", "NonZeroServeEndpoints"))
    assert not serve_endpoints_dropped(service("False", "Initializing"))
    assert not serve_endpoints_dropped(None)


class _Taker:
    """A Snapshotter whose root already has the given status."""

    def __init__(self, status: dict[str, Any]) -> None:
        self.status = status

    def take(self, scenario: str, phase: str, namespace: str, root: Any, expect: Expectation) -> Snapshot:
        obj = {"kind": "RayCluster", "metadata": {"name": "rc"}, "status": self.status}
        return Snapshot(scenario, phase, namespace, obj, [], [], [], [], expect)


@pytest.mark.parametrize(
    ("status", "expected"),
    [({"state": "ready"}, ["running"]), ({}, ["initializing"]), ({"state": "suspended"}, ["initializing"])],
)
def test_a_created_snapshot_of_a_root_already_running_expects_running(
    status: dict[str, Any], expected: list[str]
) -> None:
    said: list[str] = []
    provider = _Provider()
    ctx = Context(
        cast(Kube, None), cast(Provider, provider), "ns", cast(Snapshotter, _Taker(status)), said.append
    )
    asked = Expectation(statuses=["initializing"], stable=False)
    snapshot = ctx.snap("rc", "created", ("ray.io/v1", "RayCluster", "rc"), asked)
    assert snapshot.expect.statuses == expected
    assert asked.statuses == ["initializing"]  # the caller's expectation is not changed
    assert any("already running" in line for line in said) == (expected == ["running"])
    # a settled phase's expectation is the scenario's own, whatever the status
    settled = ctx.snap("rc", "ready", ("ray.io/v1", "RayCluster", "rc"), Expectation(statuses=["running"]))
    assert settled.expect.statuses == ["running"]


def test_sigterm_unwinds_pytest_so_the_clusters_fixtures_tear_down(tmp_path: Path) -> None:
    """CI cancelling a job sends SIGTERM: pytest must unwind like Ctrl-C so the session's fixtures (a live
    cluster's processes, its Ray heads) tear down, not die with them left running (seen: a local cluster's
    control plane outlived a killed `make test`)."""
    import contextlib
    import os
    import subprocess
    import sys

    from tenacity import RetryError, retry, retry_if_result, stop_after_delay, wait_fixed

    ready, torn = tmp_path / "ready", tmp_path / "torn-down"
    case = Path(__file__).resolve().parents[1] / "data" / "sigterm" / "sleeper_case.py"
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "python_files=sleeper_case.py",
         "--rootdir", str(Path(__file__).resolve().parents[3]), str(case)],
        env={**os.environ, "SLEEPER_READY": str(ready), "SLEEPER_TORN_DOWN": str(torn)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        started = retry(
            stop=stop_after_delay(60), wait=wait_fixed(0.2), retry=retry_if_result(lambda up: not up)
        )
        with contextlib.suppress(RetryError):
            started(lambda: ready.exists() or process.poll() is not None)()
        assert ready.exists(), f"the case never started (exit {process.poll()})"
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        process.kill()
    assert torn.read_text() == "torn down"
