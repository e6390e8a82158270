"""One live run: bring up the backend, run each scenario once, evaluate every definition on every snapshot.

Definitions are data: however many are given, each scenario runs once.
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.backends.base import Provider
from conformance.backends.registry import make_provider
from conformance.claims import live
from conformance.definition import Definition, load_definitions
from conformance.k8s import diagnostics
from conformance.k8s.client import Kube
from conformance.live.capture import Snapshotter
from conformance.live.features import selection  # also registers the feature scenarios
from conformance.live.scenarios import FEATURE_SCENARIOS, SCENARIOS, Context, ScenarioFailed
from conformance.snapshot import Snapshot
from conformance.verdict import Outcome, Verdict, verdict_for


@dataclass
class LiveResult:
    snapshots: list[Snapshot] = field(default_factory=list)
    failures: list[ScenarioFailed] = field(default_factory=list)
    diagnostics: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_scenarios(
    provider: Provider,
    artifacts: Path,
    names: Sequence[str] | None = None,
    progress: Callable[[str], None] = say,
) -> LiveResult:
    """Run each scenario in its own namespace; failures become diagnostics bundles, not exceptions."""
    kube = Kube(provider.kubeconfig)
    snapshotter = Snapshotter(kube)
    result = LiveResult()
    registry = {**SCENARIOS, **FEATURE_SCENARIOS}
    for name in list(SCENARIOS) if names is None else names:
        namespace = f"kc-{name}-{uuid.uuid4().hex[:5]}"
        kube.create_namespace(namespace, {"app.kubernetes.io/part-of": "karta-conformance"})
        provider.prepare_namespace(namespace)
        started = time.monotonic()
        progress(f"scenario {name} in namespace {namespace} ...")
        context = Context(kube, provider, namespace, snapshotter, progress)
        try:
            registry[name](context)
        except Exception as error:  # a scenario that breaks is a verdict with diagnostics, not a crash
            failure = (
                error
                if isinstance(error, ScenarioFailed)
                else ScenarioFailed(name, "unexpected", repr(error))
            )
            result.failures.append(failure)
            folder = artifacts / "diagnostics" / f"{namespace}-{failure.phase}"
            diagnostics.collect(kube, namespace, folder, provider.logs(), note=str(failure))
            result.diagnostics.append(folder)
            progress(f"scenario {name} FAILED: {failure} (diagnostics: {folder})")
        finally:
            result.snapshots.extend(context.snapshots)
            result.seconds[name] = time.monotonic() - started
            kube.delete_namespace(namespace)
        progress(f"scenario {name}: {result.seconds[name]:.0f} s")
    return result


def scenario_verdicts(result: LiveResult, definitions: Sequence[Definition]) -> list[Verdict]:
    verdicts = []
    for failure in result.failures:
        for definition in definitions:
            if definition.root.kind is None or definition.root.kind.kind != failure.root_kind:
                continue
            phase = f"{failure.scenario}/{failure.phase}"
            verdicts.append(verdict_for(definition, "scenario", "", phase, Outcome.ERROR, str(failure)))
    return verdicts


def evaluate(definitions: Sequence[Definition], result: LiveResult) -> list[Verdict]:
    return live.check(definitions, result.snapshots) + scenario_verdicts(result, definitions)


def run_live(
    paths: Sequence[str],
    cluster: str,
    kuberay_version: str | None,
    kubeconfig: str | None,
    artifacts: Path,
    node_image: str | None = None,
    keep: bool = False,
    snapshots_out: list[Snapshot] | None = None,
    chart_source: str | None = None,
    features: str | None = None,
    cluster_name: str = "karta",
) -> tuple[list[Verdict], str, dict[str, object]]:
    definitions = load_definitions(paths)  # bad input exits 2 before any cluster work
    provider = make_provider(
        cluster,
        kuberay_version,
        kubeconfig,
        name=cluster_name,
        node_image=node_image,
        keep=keep,
        chart_source=chart_source,
    )
    selected = selection(features, provider.kuberay_version)  # unknown feature names exit 2 here too
    header = provider.describe()
    say(header)
    try:  # stopped on success, failure and Ctrl-C alike, also when start() fails half-way
        provider.start()
        result = run_scenarios(provider, artifacts, selected.scenarios)
    finally:
        provider.stop()
    for index, snapshot in enumerate(result.snapshots):
        snapshot.save(artifacts / "snapshots" / f"{index:02d}-{snapshot.scenario}-{snapshot.phase}.json")
    if snapshots_out is not None:  # for callers that also read them otherwise (--oracle)
        snapshots_out.extend(result.snapshots)
    verdicts = evaluate(definitions, result)
    if selected.selected:
        verdicts = selected.verdicts(definitions, verdicts)
    meta: dict[str, object] = {
        "mode": "live",
        "backend": provider.name,
        "kuberay": provider.kuberay_version,
        "kubernetes": provider.kubernetes_version,
        "scenario_seconds": result.seconds,
        "snapshots": [f"{s.scenario}/{s.phase}" for s in result.snapshots],
        "diagnostics": [str(d) for d in result.diagnostics],
    }
    if selected.selected:
        meta["features"] = selected.meta(result.seconds)
    return verdicts, header, meta


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", text.lower())
