"""One live session: the backend up, a namespace per scenario (or test), snapshots, verdicts, reports.

``karta-conformance check --live`` and the pytest live fixtures both run through here; they differ
only in how they present the results. Definitions are data: however many are given, each scenario
runs once.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance import replay
from conformance.backends.base import Provider
from conformance.backends.registry import make_provider
from conformance.claims import frames, lookup
from conformance.definition import Definition
from conformance.errors import EnvironmentProblem, UserError
from conformance.flow import Flow
from conformance.k8s import diagnostics
from conformance.k8s.client import Kube
from conformance.live.admission import Admission, AdmissionUnavailable
from conformance.live.capture import Snapshotter
from conformance.live.parallel import EXCLUSIVE, HELD, RELEASED, WAITS, Lane, PhaseGate, run_side_by_side
from conformance.live.recorder import FlowRecorder
from conformance.live.scenarios import (
    REGISTRY,
    Context,
    PhaseUnverified,
    Scenario,
    ScenarioFailed,
    default_scenarios,
    left_out,
)
from conformance.live.selection import Selection, selection
from conformance.progress import say
from conformance.report import formats as report
from conformance.snapshot import Snapshot
from conformance.verdict import Outcome, Verdict

NAMESPACE_LABELS = {"app.kubernetes.io/part-of": "karta-conformance"}
MAX_PARALLEL = 8  # scenarios side by side at most (more only queue Pods on the cluster)
GATE_LINES = {
    WAITS: "waits for the other scenarios to reach a settled phase before the operator restarts",
    EXCLUSIVE: "the operator restarts; every other scenario waits at a phase boundary",
    RELEASED: "the operator is ready again; the other scenarios go on",
    HELD: "waits: another scenario restarts the operator",
}


@dataclass
class LiveResult:
    snapshots: list[Snapshot] = field(default_factory=list)
    failures: list[ScenarioFailed] = field(default_factory=list)
    unverified: list[PhaseUnverified] = field(default_factory=list)  # phases this backend cannot drive
    diagnostics: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    flows: list[Flow] = field(default_factory=list)  # one per scenario: every change in its namespace
    kuberay_version: str | None = None  # of the cluster the snapshots were taken on
    # root kind -> why its default scenario was left out on this backend (its definitions are then N/A)
    left_out: dict[str, str] = field(default_factory=dict)

    def add(self, other: LiveResult) -> None:
        self.snapshots.extend(other.snapshots)
        self.flows.extend(other.flows)
        self.failures.extend(other.failures)
        self.unverified.extend(other.unverified)
        self.diagnostics.extend(other.diagnostics)
        self.seconds.update(other.seconds)


@dataclass(frozen=True)
class Namespace:
    """A namespace of the session: created, labelled and prepared; deleted when its block ends."""

    name: str
    session: LiveSession

    def diagnose(self, what: str, note: str) -> Path:
        """Objects, events and the backend's logs into ``artifacts/diagnostics/<namespace>-<what>``
        (one bundle at a time: the backend writes its logs into one folder of its own)."""
        folder = self.session.artifacts / "diagnostics" / f"{self.name}-{what}"
        with self.session.diagnostics_lock:
            diagnostics.collect(self.session.kube, self.name, folder, self.session.provider.logs(), note=note)
        return folder


# The kinds a flow records when no definition says more: the Ray family, and what KubeRay makes for it.
FLOW_KINDS = (
    ("ray.io/v1", "RayCluster"),
    ("ray.io/v1", "RayJob"),
    ("ray.io/v1", "RayService"),
    ("ray.io/v1", "RayCronJob"),
    ("batch/v1", "Job"),
    ("v1", "Pod"),
    ("v1", "Service"),
)


def flow_kinds(definitions: Sequence[Definition]) -> list[tuple[str, str]]:
    """Every kind the definitions can reach (roots, components, additionalChildKinds) and the Ray
    family's own, as (apiVersion, kind)."""
    kinds = set(FLOW_KINDS)
    for definition in definitions:
        gvks = [c.kind for c in definition.components if c.kind is not None]
        gvks += list(definition.additional_child_kinds)
        kinds |= {(g.api_version, g.kind) for g in gvks}
    return sorted(kinds)


def check_parallel(value: int | None) -> int | None:
    """``--parallel N``: 1 to MAX_PARALLEL scenarios at a time (None: the backend's default)."""
    if value is not None and not 1 <= value <= MAX_PARALLEL:
        raise UserError(f"--parallel takes 1 to {MAX_PARALLEL} (scenarios at a time), not {value}")
    return value


def labelled(scenario: str, message: str) -> str:
    """A progress line of one scenario, prefixed with its name (scenarios run side by side)."""
    text = message.strip()
    tag = f"[{scenario}]"
    return text if text.startswith(tag + " ") else f"{tag} {text}"


def start_order(names: Sequence[str], registry: Mapping[str, Scenario]) -> list[str]:
    """The order scenarios start in: the slow ones first (``Scenario.slow``), else as given."""
    return sorted(names, key=lambda name: not registry[name].slow)


def namespace_name(label: str) -> str:
    """``kc-<label as a DNS label, at most 30 characters>-<5 random hex digits>``."""
    slug = re.sub(r"[^a-z0-9-]", "-", label.lower())[:30].strip("-")
    return f"kc-{slug}-{uuid.uuid4().hex[:5]}"


class LiveSession:
    """The backend of one live run, started once; stopped on success, failure and Ctrl-C alike."""

    def __init__(
        self,
        provider: Provider,
        artifacts: Path,
        progress: Callable[[str], None] = say,
        parallel: int | None = None,
    ) -> None:
        self.provider = provider
        self.artifacts = artifacts
        self.progress = progress
        # scenarios side by side (each in its own namespace); default: the backend's own figure
        self.parallel = check_parallel(parallel) or provider.parallel
        self.diagnostics_lock = threading.Lock()
        self._kube: Kube | None = None
        # The kinds each scenario's Flow records: what the definitions under test can reach (set by
        # ``run``), else the Ray family's own.
        self.flow_kinds: list[tuple[str, str]] = list(FLOW_KINDS)

    @classmethod
    def for_cluster(
        cls,
        cluster: str,
        kuberay_version: str | None,
        kubeconfig: str | None,
        artifacts: Path,
        *,
        name: str = "karta",
        node_image: str | None = None,
        keep: bool = False,
        chart_source: str | None = None,
        progress: Callable[[str], None] = say,
        parallel: int | None = None,
        batch_scheduler: str | None = None,
    ) -> LiveSession:
        check_parallel(parallel)  # exit 2 before any backend work
        provider = make_provider(
            cluster,
            kuberay_version,
            kubeconfig,
            name=name,
            node_image=node_image,
            keep=keep,
            chart_source=chart_source,
            announce=progress,
            batch_scheduler=batch_scheduler,
        )
        return cls(provider, artifacts, progress, parallel)

    @property
    def header(self) -> str:
        return self.provider.describe()

    @property
    def kube(self) -> Kube:
        """The cluster's API (once the backend is up: after ``start()``, or a cluster already running)."""
        if self._kube is None:
            self._kube = Kube(self.provider.kubeconfig)
        return self._kube

    def start(self) -> None:
        """Bring the backend up; if that fails half-way, stop what started and say why (one line, exit 2)."""
        try:
            self.provider.start()
        except (OSError, subprocess.CalledProcessError) as error:
            self.provider.stop()
            raise EnvironmentProblem(f"the {self.provider.name} cluster did not start: {error}") from None
        except BaseException:
            self.provider.stop()
            raise

    def stop(self) -> None:
        self.provider.stop()

    def __enter__(self) -> LiveSession:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def namespace(self, label: str) -> Iterator[Namespace]:
        """A fresh namespace (named after ``label``), prepared for the fixtures; always deleted."""
        name = namespace_name(label)
        self.kube.create_namespace(name, NAMESPACE_LABELS)
        try:
            self.provider.prepare_namespace(name)
            yield Namespace(name, self)
        finally:
            self.kube.delete_namespace(name)

    def run_scenarios(
        self, names: Sequence[str] | None = None, registry: Mapping[str, Scenario] | None = None
    ) -> LiveResult:
        """Each scenario in its own namespace, up to ``parallel`` at a time; a failure becomes a
        diagnostics bundle, not an exception. The result lists snapshots, failures, unverified
        phases and seconds in the order of ``names`` (default: the default set), never in the order
        the scenarios finished. ``registry``: the scenarios by name (default: every known one)."""
        scenarios = registry if registry is not None else REGISTRY
        version, backend = self.provider.kuberay_version, self.provider.name
        chosen = list(default_scenarios(version, backend) if names is None else names)
        snapshotter = Snapshotter(self.kube)  # the Kube client is made here, before any thread
        gate = PhaseGate(lambda event, lane: self.progress(labelled(lane, GATE_LINES[event])))
        workers = min(self.parallel, len(chosen))
        if workers > 1:
            self.progress(f"{len(chosen)} scenarios, {workers} at a time (--parallel)")

        def interrupted(running: int) -> None:
            self.progress(
                f"interrupted: {running} running scenario(s) stop at their next wait and delete their "
                "namespaces (Ctrl-C again to stop now)"
            )

        parts = run_side_by_side(
            start_order(chosen, scenarios),
            lambda name: self._scenario(name, scenarios[name], snapshotter, gate.lane(name)),
            workers,
            gate,
            interrupted,
        )
        result = LiveResult(kuberay_version=self.provider.kuberay_version)
        if names is None:
            result.left_out = {
                scenarios[name].root_kind: f"scenario {name} is {why}"
                for name, why in left_out(version, backend).items()
                if name in scenarios
            }
        for name in chosen:
            result.add(parts[name])
        return result

    def _scenario(self, name: str, scenario: Scenario, snapshotter: Snapshotter, lane: Lane) -> LiveResult:
        """One scenario in its namespace (deleted however the scenario ends, Ctrl-C included)."""
        part = LiveResult()

        def progress(message: str) -> None:
            self.progress(labelled(name, message))

        started = time.monotonic()
        with self.namespace(name) as namespace:
            progress(f"scenario {name} in namespace {namespace.name} ...")
            recorder = FlowRecorder(
                self.kube, name, namespace.name, self.flow_kinds, self.provider.kuberay_version
            ).start()
            context = Context(
                self.kube, self.provider, namespace.name, snapshotter, progress, lane=lane, recorder=recorder
            )
            try:
                with lane.holding():
                    scenario(context)
            except Exception as error:  # a scenario that breaks is a verdict with diagnostics, not a crash
                failure = (
                    error
                    if isinstance(error, ScenarioFailed)
                    else ScenarioFailed(name, "unexpected", repr(error))
                )
                part.failures.append(failure)
                folder = namespace.diagnose(failure.phase, str(failure))
                part.diagnostics.append(folder)
                progress(f"FAILED: {failure} (diagnostics: {folder})")
            finally:
                part.flows.append(recorder.stop())
                if recorder.gaps:
                    progress(f"flow: not recorded: {recorder.gaps}")
                part.snapshots.extend(context.snapshots)
                part.unverified.extend(context.unverified)
                part.seconds[name] = time.monotonic() - started
        progress(f"scenario {name}: {part.seconds[name]:.0f} s")
        return part

    def save_snapshots(self, result: LiveResult) -> None:
        for index, snapshot in enumerate(result.snapshots):
            snapshot.save(
                self.artifacts / "snapshots" / f"{index:02d}-{snapshot.scenario}-{snapshot.phase}.json"
            )
        for flow in result.flows:
            flow.save(self.artifacts / "flows")

    def meta(self, result: LiveResult) -> dict[str, Any]:
        return {
            "mode": "live",
            "backend": self.provider.name,
            "header": self.header,
            "kuberay": self.provider.kuberay_version,
            "kubernetes": self.provider.kubernetes_version,
            "batch_scheduler": self.provider.batch_scheduler,
            "capabilities": sorted(self.provider.capabilities),
            "parallel": self.parallel,
            "scenario_seconds": result.seconds,
            "snapshots": [f"{s.scenario}/{s.phase}" for s in result.snapshots],
            "unverified": [f"{u.scenario}/{u.phase}: {u.reason}" for u in result.unverified],
            "left_out": result.left_out,
            "diagnostics": [str(d) for d in result.diagnostics],
        }

    def admit(
        self, admission: Admission, definitions: Sequence[Definition]
    ) -> tuple[list[lookup.Admitted], str | None]:
        """Every definition applied as a Karta and read back (or why the cluster cannot take them)."""
        try:
            admission.prepare()
            return admission.admit(definitions), None
        except AdmissionUnavailable as error:
            self.progress(f"admission: {error}; the admitted and lookup claims are UNVERIFIED")
            return [], str(error)

    def select(self, features: str | None) -> Selection:
        """The scenarios for ``--features`` (unknown names exit 2 here, before the backend starts)."""
        return selection(features, self.provider.kuberay_version, self.provider.batch_scheduler)

    def run(
        self,
        definitions: Sequence[Definition],
        names: Sequence[str] | None = None,
        selected: Selection | None = None,
    ) -> LiveRun:
        """The scenarios once (``names``, or those of the selected features; default: the default
        set), every snapshot saved, every definition evaluated on them."""
        self.flow_kinds = flow_kinds(definitions)
        admission = Admission(self.kube, self.progress)
        try:
            # The definitions are admitted beside the scenarios (no scenario reads a Karta object): the
            # run takes the scenarios' time, not that plus admission's few seconds.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="karta-admission") as beside:
                admitting = beside.submit(self.admit, admission, definitions)
                result = self.run_scenarios(selected.scenarios if selected is not None else names)
                admitted, unavailable = admitting.result()
        finally:
            admission.withdraw()
        self.save_snapshots(result)
        # The scenarios' claims are evaluated on each definition as the API server kept it.
        evaluated = [a.read_back if a.read_back is not None else a.definition for a in admitted] or list(
            definitions
        )
        verdicts = (
            lookup.unverified(definitions, unavailable) if unavailable else lookup.check(admitted)
        ) + evaluate(evaluated, result)
        meta = self.meta(result)
        meta["frames"] = frames.summary_lines(verdicts)
        meta["admission"] = {
            "crd": admission.crd_label,
            "session": admission.session,
            "unavailable": unavailable,
        }
        if selected is not None and selected.selected:
            verdicts = selected.verdicts(definitions, verdicts)
            meta["features"] = selected.meta(result.seconds)
        return LiveRun(result, verdicts, self.header, meta)


@dataclass
class LiveRun:
    result: LiveResult
    verdicts: list[Verdict]
    header: str
    meta: dict[str, Any]

    def write_reports(
        self,
        json_path: str | Path | None = None,
        junit: str | Path | None = None,
        markdown_path: str | Path | None = None,
    ) -> None:
        report.write_reports(
            self.verdicts,
            self.header,
            self.meta,
            json_path=json_path,
            junit=junit,
            markdown_path=markdown_path,
        )


def _root_kind(scenario: str) -> str | None:
    known = REGISTRY.get(scenario)
    return known.root_kind if known else None


def problems(result: LiveResult) -> list[replay.Problem]:
    """The scenarios that broke (ERROR) and the phases the backend cannot drive (UNVERIFIED)."""
    return [
        replay.Problem(scenario, phase, _root_kind(scenario) or "", outcome, message)
        for scenario, phase, outcome, message in [
            *((f.scenario, f.phase, Outcome.ERROR, str(f)) for f in result.failures),
            *((u.scenario, u.phase, Outcome.UNVERIFIED, u.reason) for u in result.unverified),
        ]
    ]


def scenario_verdicts(result: LiveResult, definitions: Sequence[Definition]) -> list[Verdict]:
    """ERROR for each scenario that broke, UNVERIFIED for each phase the backend cannot drive,
    for every definition of that scenario's root kind."""
    return replay.problem_verdicts(problems(result), definitions)


def evaluate(definitions: Sequence[Definition], result: LiveResult) -> list[Verdict]:
    """Every claim but admission's, judged as a replay of the recorded run judges it (``replay.judge``)."""
    return replay.judge(
        definitions, result.snapshots, result.flows, result.kuberay_version, problems(result), result.left_out
    )
