"""Every frame judged: the status a definition reads on each recorded state of its root, held against the
independent model of KubeRay's states (``conformance/model/kuberay_states.py``), not only at the phases a
scenario photographs (pure).

A consumer acts on every state it sees. So for each frame of a flow's root (its creation, every update, its
deletion), the definition's status reading must be one the model allows for that frame: at least one
mapping matches, no two contradict, and every matched status is allowed. Where KubeRay itself writes the
decisive field one reconcile late, the model allows the late reading too, and the verdict says how many
frames needed that.

Verdicts, per definition and flow root (phase ``<scenario>/frames``): a PASS counting the frames judged
(``status on 96 frame(s) of RayJob rayjob: right on 96``), or a FAIL per wrong frame (the first
``SHOWN`` of them) naming the frame (time, resourceVersion, the key status fields) and both readings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from conformance.claims import names
from conformance.definition import dialects
from conformance.definition.model import Definition
from conformance.errors import EvaluationError
from conformance.evaluate.gangs import gang_groups
from conformance.evaluate.pods import selects
from conformance.evaluate.status import read_status
from conformance.flow import Flow, Frame
from conformance.model import kuberay_states
from conformance.snapshot import walk_tree
from conformance.verdict import Outcome, Verdict, verdict_for

SHOWN = 5  # wrong frames reported one by one, per definition and root; the rest are counted


def key_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """The fields a status reading turns on, for a disagreement's line: spec.suspend, the status's
    state-like fields and the conditions' type/status/reason."""
    status = obj.get("status") or {}
    shown: dict[str, Any] = {}
    if (obj.get("spec") or {}).get("suspend") is not None:
        shown["spec.suspend"] = obj["spec"]["suspend"]
    for name in ("state", "jobDeploymentStatus", "jobStatus", "failed", "succeeded", "lastScheduleTime"):
        if status.get(name) not in (None, ""):
            shown[name] = status[name]
    for which in ("activeServiceStatus", "pendingServiceStatus"):
        apps = (status.get(which) or {}).get("applicationStatuses") or {}
        if apps:
            shown[f"{which}.apps"] = {k: (v or {}).get("status") for k, v in apps.items()}
    conditions = [
        f"{c.get('type')}={c.get('status')}" + (f"/{c['reason']}" if c.get("reason") else "")
        for c in status.get("conditions") or []
    ]
    if conditions:
        shown["conditions"] = conditions
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        shown["deleting"] = True
    return shown


def _frame_label(flow: Flow, frame: Frame) -> str:
    return (
        f"frame {frame.type} at +{frame.time - flow.started:.1f} s, resourceVersion {frame.resource_version} "
        f"({json.dumps(key_fields(frame.object), sort_keys=True)})"
    )


def _outcome(
    definition: Definition,
    claim: str,
    subject: str,
    phase: str,
    wrong: list[str],
    what: str,
    passed: str,
    evidence: dict[str, Any] | None = None,
) -> list[Verdict]:
    """A FAIL per wrong item (the first ``SHOWN``, then one counting the rest), else one PASS."""

    def verdict(outcome: Outcome, message: str) -> Verdict:
        return verdict_for(definition, claim, subject, phase, outcome, message, evidence=evidence)

    if not wrong:
        return [verdict(Outcome.PASS, passed)]
    shown = [verdict(Outcome.FAIL, line) for line in wrong[:SHOWN]]
    if len(wrong) > SHOWN:
        shown.append(verdict(Outcome.FAIL, f"... and {len(wrong) - SHOWN} more wrong {what}"))
    return shown


def judge_flow(definition: Definition, flow: Flow) -> list[Verdict]:
    """The definition's status reading on every frame of each of the flow's roots of its kind. Each
    verdict's evidence counts the root's frames (``frames``, ``right``, ``late``) for the summary."""
    root_kind = definition.root.kind
    status = definition.root.status
    if root_kind is None or status is None:
        return []
    verdicts: list[Verdict] = []
    phase = f"{flow.scenario}/frames"
    known = dialects.by_name(definition.dialect).statuses
    for api_version, kind, name in flow.roots():
        if (api_version, kind) != (root_kind.api_version, root_kind.kind):
            continue
        judged = right = late = 0
        wrong: list[str] = []
        inexpressible: list[str] = []  # frames whose every allowed status the dialect lacks
        confirmed: set[str] = set()  # statuses the definition read, rightly, on some frame
        for frame in flow.frames_of(kind, name):
            if frame.type == "DELETED":
                continue  # gone: no consumer reads it any more
            try:
                model = kuberay_states.read(frame.object, flow.kuberay_version or "")
            except ValueError:  # a version the model has no rules for: nothing to judge against
                model = None
            if model is None:
                continue
            judged += 1
            allowed = model.allowed & set(known)
            if not allowed:
                inexpressible.append(
                    f"{_frame_label(flow, frame)}: KubeRay's model allows {sorted(model.allowed)} (state "
                    f"{model.state}), statuses the {dialects.by_name(definition.dialect).label} dialect does not have"
                )
                continue
            try:
                reading = read_status(status, frame.object)
            except EvaluationError as error:
                wrong.append(f"{_frame_label(flow, frame)}: the definition's reading fails: {error.message}")
                continue
            matched = set(reading.matched)
            problems = []
            if not matched:
                problems.append("no mapping matches")
            if reading.contradictions:
                problems.append(f"contradictory {reading.contradictions}")
            if matched - allowed:
                problems.append(f"{sorted(matched - allowed)} not allowed")
            if problems:
                wrong.append(
                    f"{_frame_label(flow, frame)}: the definition reads {sorted(matched) or 'no status'}, "
                    f"KubeRay's model allows {sorted(model.allowed)} (state {model.state}: {model.why}); "
                    + "; ".join(problems)
                )
                continue
            right += 1
            confirmed |= matched
            if matched & model.late and not matched - model.late:
                late += 1
        root_label = f"{kind} {name}"
        evidence = {
            "root": root_label,
            "frames": judged,
            "right": right,
            "late": late,
            "inexpressible": len(inexpressible),
            "confirmed": sorted(confirmed),
        }
        subject = "rootComponent.statusDefinition.statusMappings"
        if inexpressible:
            verdicts.append(
                verdict_for(
                    definition,
                    names.CANNOT_EXPRESS,
                    subject,
                    phase,
                    Outcome.CANNOT_EXPRESS,
                    f"{len(inexpressible)} frame(s) of {root_label}, first {inexpressible[0]}",
                    evidence=evidence,
                )
            )
        lateness = f" ({late} only as KubeRay writes it one reconcile late)" if late else ""
        verdicts += _outcome(
            definition,
            names.STATUS_FRAMES,
            subject,
            phase,
            wrong,
            f"frame(s) of {root_label}",
            f"status on {judged} frame(s) of {root_label}: right on {right}{lateness}"
            + (f", {len(inexpressible)} the dialect cannot express" if inexpressible else ""),
            evidence,
        )
    return verdicts


def judge_members(definition: Definition, flow: Flow) -> list[Verdict]:
    """A Pod must be a member from the first frame it exists: at each Pod's first recorded frame, if the
    Pod belongs to a root of the definition's kind (its ownerReferences reach the root), exactly one of the
    definition's Pod components selects it, as a consumer that sees the Pod created would place it; and
    its pod group is its RayCluster's own (``gang-frames``)."""
    root_kind = definition.root.kind
    if root_kind is None:
        return []
    verdicts: list[Verdict] = []
    phase = f"{flow.scenario}/frames"
    leaves = list(definition.leaves)
    for api_version, kind, name in flow.roots():
        if (api_version, kind) != (root_kind.api_version, root_kind.kind):
            continue
        # Who belongs to the workload is read from every object the flow ever saw (ownerReferences do not
        # change, and the watches of different kinds deliver in their own order: a Pod's first frame may
        # come before its RayCluster's); what is judged is the Pod as it was at its first frame.
        ever: dict[str, dict[str, Any]] = {}
        for frame in flow.frames:
            uid = str((frame.object.get("metadata") or {}).get("uid") or "")
            if uid:
                ever[uid] = frame.object
        root = next(
            (o for o in ever.values() if o.get("kind") == kind and o["metadata"].get("name") == name), None
        )
        if root is None:
            continue
        workload = {str(o["metadata"]["uid"]) for o in walk_tree(root, list(ever.values()))}
        seen: set[str] = set()
        judged = 0
        wrong: list[str] = []
        by_uid = {str(o["metadata"]["uid"]): o for o in ever.values() if (o.get("metadata") or {}).get("uid")}
        grouped: dict[str, set[str]] = {}  # RayCluster -> the pod groups its Pods got at their first frame
        members: dict[str, set[str]] = {}  # pod group -> the RayClusters whose Pods it got
        owned = _Ownership(definition, by_uid)
        for frame in flow.frames:
            uid = str((frame.object.get("metadata") or {}).get("uid") or "")
            if frame.type == "DELETED" or uid in seen:
                continue
            seen.add(uid)
            if uid not in workload:
                continue  # another workload's object (the neighbour)
            if frame.kind != "Pod":
                owned.judge(flow, frame, None)
                continue
            judged += 1
            try:
                chosen = [c.name for c in leaves if selects(definition, c, frame.object)]
            except EvaluationError as error:
                wrong.append(
                    f"Pod {frame.name} at its first frame: the selectors cannot be read: {error.message}"
                )
                continue
            owned.judge(flow, frame, chosen)
            cluster = _cluster_of(frame.object, by_uid)
            if definition.pod_groups and cluster:
                try:
                    labels = [f"{g.pod_group}{list(g.key)}" for g in gang_groups(definition, [frame.object])]
                except EvaluationError:
                    labels = []  # the gang claim of the photographed phases says why
                for label in labels:
                    grouped.setdefault(cluster, set()).add(label)
                    members.setdefault(label, set()).add(cluster)
            if len(chosen) != 1:
                wrong.append(
                    f"Pod {frame.name} at its first frame ({frame.type} at +{frame.time - flow.started:.1f} s, "
                    f"resourceVersion {frame.resource_version}, labels "
                    f"{json.dumps((frame.object.get('metadata') or {}).get('labels') or {}, sort_keys=True)}) is "
                    f"selected by {chosen or 'no component'}; exactly one is required"
                )
        if definition.pod_groups and grouped:
            verdicts.append(_gang_frames(definition, phase, f"{kind} {name}", grouped, members))
        verdicts += _outcome(
            definition,
            names.MEMBERSHIP_FRAMES,
            "childComponents.podSelector",
            phase,
            wrong,
            f"Pod(s) of {kind} {name}",
            f"{judged} Pod(s) of {kind} {name}, each a member of exactly one component from its first frame",
        )
        verdicts += _outcome(
            definition,
            names.OWNERSHIP_FRAMES,
            "childComponents.ownerRef",
            phase,
            owned.wrong,
            f"object(s) of {kind} {name}",
            f"{owned.judged} object(s) of {kind} {name}, each owned as the definition says from its first frame",
        )
    return verdicts


class _Ownership:
    """Ownership at each object's first frame: a Pod's component has its ``ownerRef`` parent's kind in
    the Pod's owner chain; any other object the workload's components made is of a component kind (whose
    parent is in its chain) or listed in ``additionalChildKinds``. A short-lived child (a submitter Job, a
    cleanup Job, a PodGroup) is judged even if no photographed phase ever saw it."""

    def __init__(self, definition: Definition, by_uid: dict[str, dict[str, Any]]) -> None:
        self.definition = definition
        self.by_uid = by_uid
        self.judged = 0
        self.wrong: list[str] = []
        self.known = {(c.kind.api_version, c.kind.kind) for c in definition.components if c.kind}
        self.known |= {(k.api_version, k.kind) for k in definition.additional_child_kinds}
        self.component_kinds = {c.kind.kind for c in definition.components if c.kind}
        # Karta keys additionalChildKinds by kind alone: another API group's kind of a listed name is the
        # photographed phases' CANNOT-EXPRESS (claims/live.py), not a wrong definition
        self.listed = {k.kind for k in definition.additional_child_kinds}

    def _chain(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        chain: list[dict[str, Any]] = []
        current = obj
        for _ in range(16):  # an owner chain is short; a cycle ends here
            refs = (current.get("metadata") or {}).get("ownerReferences") or []
            owner = next(
                (self.by_uid[str(r.get("uid"))] for r in refs if str(r.get("uid")) in self.by_uid), None
            )
            if owner is None:
                break
            chain.append(owner)
            current = owner
        return chain

    def judge(self, flow: Flow, frame: Frame, chosen: list[str] | None) -> None:
        obj = frame.object
        chain = self._chain(obj)
        kinds = [str(o.get("kind")) for o in chain]
        where = (
            f"{frame.kind} {frame.name} at its first frame ({frame.type} at +{frame.time - flow.started:.1f} s, "
            f"resourceVersion {frame.resource_version})"
        )
        if chosen is not None:  # a Pod: its component's parent must own it
            if len(chosen) != 1:
                return  # membership-frames says why
            self.judged += 1
            component = self.definition.component(chosen[0])
            parent = self.definition.component(component.owner_ref or "") if component else None
            if parent is not None and parent.kind is not None and parent.kind.kind not in kinds:
                self.wrong.append(
                    f"{where} has owner chain {' -> '.join(kinds) or 'none'}; component {chosen[0]}'s ownerRef "
                    f"{component.owner_ref if component else ''!r} ({parent.kind.kind}) is not in it"
                )
            return
        if chain and str(chain[0].get("kind")) not in self.component_kinds:
            return  # made by Kubernetes for an object the workload created (EndpointSlices of a Service)
        self.judged += 1
        gvk = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if gvk not in self.known:
            if gvk[1] not in self.listed:
                self.wrong.append(
                    f"{where}: {gvk[0]} {gvk[1]} is neither a component kind nor listed in additionalChildKinds"
                )
            return
        parents = [
            parent.kind.kind
            for c in self.definition.children
            if c.kind is not None
            and (c.kind.api_version, c.kind.kind) == gvk
            and (parent := self.definition.component(c.owner_ref or "")) is not None
            and parent.kind is not None
        ]
        if parents and not set(parents) & set(kinds):
            self.wrong.append(
                f"{where} has owner chain {' -> '.join(kinds) or 'none'}; no component of kind {gvk[1]} has an "
                f"ownerRef among them ({', '.join(sorted(set(parents)))})"
            )


def _cluster_of(pod: dict[str, Any], by_uid: dict[str, dict[str, Any]]) -> str:
    """The nearest RayCluster among the Pod's owners (through every object the flow saw), "" without one."""
    current: dict[str, Any] | None = pod
    for _ in range(16):  # an owner chain is short; a cycle ends here
        refs = ((current or {}).get("metadata") or {}).get("ownerReferences") or []
        owner = next((by_uid.get(str(r.get("uid"))) for r in refs if by_uid.get(str(r.get("uid")))), None)
        if owner is None:
            return ""
        if owner.get("kind") == "RayCluster":
            return str(owner["metadata"]["name"])
        current = owner
    return ""


def _gang_frames(
    definition: Definition,
    phase: str,
    root_label: str,
    grouped: dict[str, set[str]],
    members: dict[str, set[str]],
) -> Verdict:
    """One pod group per RayCluster from each Pod's first frame: a cluster whose Pods land in two groups
    would be admitted in parts, two clusters in one group (the pending cluster's first Pods in the active
    one's) would be sized together."""
    split = {cluster: sorted(labels) for cluster, labels in grouped.items() if len(labels) > 1}
    merged = {label: sorted(clusters) for label, clusters in members.items() if len(clusters) > 1}
    subject = "optimizationInstructions.gangScheduling.podGroups"
    if split or merged:
        return verdict_for(
            definition,
            names.GANG_FRAMES,
            subject,
            phase,
            Outcome.FAIL,
            f"{root_label}: at their first frame, "
            + "; ".join(
                [f"RayCluster {c}'s Pods went to groups {labels}" for c, labels in split.items()]
                + [
                    f"group {label} got the Pods of RayClusters {clusters}"
                    for label, clusters in merged.items()
                ]
            ),
        )
    return verdict_for(
        definition,
        names.GANG_FRAMES,
        subject,
        phase,
        Outcome.PASS,
        f"{root_label}: every Pod in its RayCluster's own group from its first frame ({len(grouped)} cluster(s))",
    )


def judge(definitions: Iterable[Definition], flows: Iterable[Flow]) -> list[Verdict]:
    flows = list(flows)
    return [
        v
        for definition in definitions
        for flow in flows
        for v in [*judge_flow(definition, flow), *judge_members(definition, flow)]
    ]


def confirmed_statuses(verdicts: Iterable[Verdict]) -> dict[str, set[str]]:
    """Per definition, the statuses its mappings were seen to read rightly on some frame: a mapping so
    shown is checked, not ``not-checked`` (``claims/coverage.py``)."""
    found: dict[str, set[str]] = {}
    for verdict in verdicts:
        if verdict.claim == names.STATUS_FRAMES:
            found.setdefault(verdict.definition, set()).update(verdict.evidence.get("confirmed") or ())
    return found


def summary_lines(verdicts: Iterable[Verdict]) -> list[str]:
    """Per definition, from its ``status-frames`` verdicts: ``rayjob: 412 frames, status right on 412``."""
    seen: set[tuple[str, str, str]] = set()
    totals: dict[str, list[int]] = {}
    for verdict in verdicts:
        evidence = verdict.evidence
        if verdict.claim != names.STATUS_FRAMES or "frames" not in evidence:
            continue
        key = (verdict.definition, verdict.phase, str(evidence["root"]))
        if key in seen:
            continue
        seen.add(key)
        total = totals.setdefault(verdict.definition, [0, 0, 0, 0])
        total[0] += int(evidence["frames"])
        total[1] += int(evidence["right"])
        total[2] += int(evidence["late"])
        total[3] += int(evidence.get("inexpressible") or 0)
    return [
        f"{name}: {frames} frames, status right on {right}"
        + (f" ({late} one reconcile late)" if late else "")
        + (f", {gaps} the dialect cannot express" if gaps else "")
        for name, (frames, right, late, gaps) in totals.items()
    ]
