"""Live claims: a definition checked against Snapshots of live objects (pure: no cluster calls).

For every definition and every snapshot of its root kind:
- ``gvk``: the root GVK is served and equals the live root's apiVersion and kind;
- ``paths-live``: every spec, scale and instance-id path yields values on the live root, aligned per instance;
- ``beyond-karta``: what Karta accepts but the harness refuses, said as such (repeated instance ids);
- ``membership``: every Pod of the workload is selected by exactly one component; no component selects a
  Pod outside the workload that it could not tell apart by ownership;
- ``instance-ids``: per owner (RayCluster), the ids read from the Pods are ids the spec declares, and every
  declared instance with replicas > 0 has Pods;
- ``replicas``: per owner, once stable, Pods per instance = the replicas reading (Karta counts Pods, so a
  multi-host group reads replicas x numOfHosts), min <= replicas <= max;
- ``cannot-express``: a multi-host replica (numOfHosts > 1 Pods) that no definition can name as a unit;
- ``ownership``: each component's ownerRef names a kind above it in the live owner chain; every kind in the
  tree, reached through component kinds, is a component kind or in additionalChildKinds;
- ``top-owner``: the root has no owner above it (a consumer looks a Karta up by the top owner's GVK);
  CANNOT-EXPRESS when it has one (a wrapper object: no definition of the root kind can cover it);
- ``suspend-actions``: the root's suspend (resume) actions set what the scenario set to suspend (resume)
  the workload live, at the phases reached that way;
- ``gang``: one pod group per owner of the expected kind, holding exactly that owner's Pods;
- ``gang-minimum``: per pod group, the minimum a Karta consumer computes for each of its Pods (KAI's
  grouper: the effective component's subtree scale) is the same for every Pod and equals the Pods that
  owner needs to make progress (a RayCluster: head + minReplicas x numOfHosts per worker group);
- ``status``: the matched statuses equal the phase's expected ones, never contradictory;
- ``template-fidelity``: labels, annotations, scheduler name, images and resources of each extracted pod
  template appear on the live Pods of that component and instance (for owners made from the current spec).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from typing import Any

from conformance import inventory
from conformance import kuberay as workloads
from conformance.claims import names
from conformance.claims.collect import Verdicts
from conformance.claims.completeness import unlisted_kinds
from conformance.claims.coverage import not_checked
from conformance.claims.static import hermetic
from conformance.definition import dialects
from conformance.definition.model import Component, Definition
from conformance.errors import EvaluationError
from conformance.evaluate.gangs import gang_groups
from conformance.evaluate.instances import Instance, beyond_karta, instances
from conformance.evaluate.pods import PodMatch, match, pod_name, selects
from conformance.evaluate.status import read_status
from conformance.evaluate.suspend import Change, action_changes, change
from conformance.jq import expr as jqexpr
from conformance.snapshot import Snapshot
from conformance.verdict import Outcome, Verdict, verdict_for


def gvk_key(api_version: str, kind: str) -> str:
    return f"{api_version}/{kind}"


def applies(definition: Definition, snapshot: Snapshot) -> bool:
    kind = definition.root.kind
    return (
        kind is not None
        and snapshot.root.get("kind") == kind.kind
        and snapshot.root.get("apiVersion") == kind.api_version
    )


def check(
    definitions: Iterable[Definition],
    snapshots: Iterable[Snapshot],
    kuberay_version: str | None = None,
    frame_statuses: Mapping[str, Collection[str]] | None = None,
) -> list[Verdict]:
    """Every claim of every definition on the Snapshots of its root kind (taken on ``kuberay_version``,
    when known: a status only a feature that version lacks can show is then N/A, not unverified).
    ``frame_statuses``: per definition, statuses its mappings read rightly on some recorded frame
    (``claims/frames.py``): shown, like those a Snapshot expected."""
    verdicts: list[Verdict] = []
    snapshots = list(snapshots)
    for definition in definitions:
        mine = [s for s in snapshots if applies(definition, s)]
        if not mine:
            kind = definition.root.kind
            brought = inventory.kind_feature(kind.kind) if kind else None
            lacking = (
                brought is not None and kuberay_version is not None and not brought.active_in(kuberay_version)
            )
            verdicts.append(
                verdict_for(
                    definition,
                    names.SCENARIO,
                    "rootComponent.kind",
                    "live",
                    Outcome.NOT_APPLICABLE if lacking else Outcome.ERROR,
                    f"KubeRay {kuberay_version} does not serve {kind.kind if kind else '?'} (feature "
                    f"{brought.name if brought else '?'}: {', '.join(brought.versions) if brought else '?'} only)"
                    if lacking
                    else f"no scenario drives a {kind.api_version if kind else '?'} {kind.kind if kind else '?'}; "
                    "the definition was not checked live",
                )
            )
        sealed = Verdicts(definition, "live")
        if not hermetic(definition, sealed):
            verdicts.extend(v for v in sealed.items if not v.ok)  # never evaluated on live objects
            continue
        for snapshot in mine:
            verdicts.extend(check_snapshot(definition, snapshot))
            verdicts.extend(unlisted_kinds(definition, snapshot))
        if mine:  # without snapshots the ERROR above already says the definition was not checked live
            shown = {status for s in mine for status in s.expect.statuses}
            shown |= set((frame_statuses or {}).get(definition.name, ()))
            acted = {str(m.get("action")) for s in mine for m in s.expect.made_by}
            verdicts.extend(not_checked(definition, "live", shown, acted, kuberay_version))
    return verdicts


def check_snapshot(definition: Definition, snapshot: Snapshot) -> list[Verdict]:
    out = Verdicts(definition, f"{snapshot.scenario}/{snapshot.phase}")
    _gvk(out, snapshot)
    declared = _paths(out, snapshot)
    matches = _membership(out, snapshot)
    if declared is not None and matches is not None:
        _instances_and_replicas(out, snapshot, declared, matches)
        _fidelity(out, snapshot, declared, matches)
    _ownership(out, snapshot, matches or {})
    _top_owner(out, snapshot)
    _suspend_actions(out, snapshot)
    _gang(out, snapshot)
    _status(out, snapshot)
    return stable_keys(definition, out.phase, out.items)


# ---------------------------------------------------------------------------
# The same verdicts at every phase: a phase that races the operator (a created phase taken before or after
# KubeRay made the Pods) may change an outcome, never which verdicts there are (their keys: definition,
# claim, phase, subject). These claims give one verdict or more per component, whatever the tree holds.

NOT_MATCHED = "childComponents"  # membership: a Pod of the workload no component selects


def _subjects(definition: Definition, claim: str) -> list[str]:
    """The subjects ``claim`` judges at every phase: the components (the Pod components for the claims
    about Pods), and for membership the workload's Pods that no component selects."""
    if claim == names.PATHS_LIVE:
        return [c.where for c in definition.components]
    leaves = [c.where for c in _pod_components(definition)]
    return [*leaves, NOT_MATCHED] if claim == names.MEMBERSHIP else leaves


def stable_keys(definition: Definition, phase: str, items: list[Verdict]) -> list[Verdict]:
    """``items`` with the claims about one part of the definition at that part (``SECTIONS``), and the
    per-component claims' verdicts (``PER_COMPONENT``) at their components: a
    finding at a field keeps the field in its message and evidence; a component without a finding gets
    the claim's PASS; a claim not evaluated at this phase (the Pods not matched to components, since
    paths or membership failed) gets an ERROR per component saying so."""
    kept: list[Verdict] = []
    found: dict[tuple[str, str], list[Verdict]] = {}
    passed: dict[str, Verdict] = {}
    for verdict in items:
        section = SECTIONS.get(verdict.claim)
        if section is not None and verdict.subject != section:  # a claim about one part of the definition
            verdict = replace(verdict, subject=section, evidence={**verdict.evidence, "at": verdict.subject})
        if verdict.claim not in PER_COMPONENT or verdict.outcome in (Outcome.CANNOT_EXPRESS,):
            kept.append(verdict)
            continue
        if verdict.subject == "" and verdict.outcome is Outcome.PASS:
            passed[verdict.claim] = verdict
            continue
        subjects = _subjects(definition, verdict.claim)
        where = next(
            (w for w in subjects if verdict.subject == w or verdict.subject.startswith((w + ".", w + "["))),
            NOT_MATCHED if verdict.claim == names.MEMBERSHIP else subjects[0] if subjects else "",
        )
        if verdict.subject != where:  # the field stays in the evidence ("at") and in the line a reader sees
            verdict = replace(verdict, subject=where, evidence={**verdict.evidence, "at": verdict.subject})
        found.setdefault((verdict.claim, where), []).append(verdict)
    for claim in PER_COMPONENT:
        for where in _subjects(definition, claim):
            if (claim, where) in found:
                kept.extend(found[(claim, where)])
            elif claim in passed:
                kept.append(replace(passed[claim], subject=where))
            elif any(c == claim for c, _ in found):
                kept.append(
                    verdict_for(definition, claim, where, phase, Outcome.PASS, "no finding at this component")
                )
            else:
                kept.append(
                    verdict_for(
                        definition,
                        claim,
                        where,
                        phase,
                        Outcome.ERROR,
                        "not evaluated at this phase: the Pods could not be matched to the definition's "
                        "components (see the paths-live and membership verdicts)",
                    )
                )
    return kept


PER_COMPONENT = (
    names.PATHS_LIVE,
    names.MEMBERSHIP,
    names.INSTANCE_IDS,
    names.REPLICAS,
    names.TEMPLATE_FIDELITY,
)
# The claims about one part of the definition: every verdict's subject is that part (a finding's own
# field, a pod group's say, is in its evidence and its line).
SECTIONS = {
    names.GVK: "rootComponent.kind",
    names.TOP_OWNER: "rootComponent.kind",
    names.STATUS: "rootComponent.statusDefinition.statusMappings",
    names.GANG: "optimizationInstructions.gangScheduling",
    names.GANG_MINIMUM: "optimizationInstructions.gangScheduling.podGroups",
}


# ---------------------------------------------------------------------------


def _gvk(out: Verdicts, snapshot: Snapshot) -> None:
    kind = out.definition.root.kind
    assert kind is not None
    root = snapshot.root
    served = gvk_key(kind.api_version, kind.kind) in snapshot.served
    same = (root.get("apiVersion"), root.get("kind")) == (kind.api_version, kind.kind)
    out.check(
        names.GVK,
        "rootComponent.kind",
        served and same,
        "served and equal to the live root"
        if served and same
        else f"{kind} is {'served' if served else 'NOT served'}; the live root is {root.get('apiVersion')} {root.get('kind')}",
    )


def _paths(out: Verdicts, snapshot: Snapshot) -> dict[str, list[Instance]] | None:
    declared: dict[str, list[Instance]] = {}
    failed = False
    for component in out.definition.components:
        try:
            declared[component.name] = instances(component, snapshot.root)
        except EvaluationError as error:
            out.failed(names.PATHS_LIVE, error, "the live root")
            failed = True
            continue
        stricter = beyond_karta(component, snapshot.root)
        if stricter:
            out.fail_at(names.BEYOND_KARTA, component.instance_id_path, component.where, stricter)
        spec = component.spec
        for instance in declared[component.name]:
            if (
                spec is not None
                and (spec.pod_template_spec_path or spec.pod_spec_path)
                and not isinstance(instance.pod_template, dict)
            ):
                path = spec.pod_template_spec_path or spec.pod_spec_path
                assert path is not None
                out.check(
                    names.PATHS_LIVE,
                    path.where,
                    False,
                    f"yields {instance.pod_template!r} for instance {instance.id!r} on the live root",
                    path.text,
                )
                failed = True
    if not failed:
        out.check(
            names.PATHS_LIVE,
            "",
            True,
            "every spec, scale and instance path yields aligned values on the live root",
        )
    return None if failed else declared


def _pod_components(definition: Definition) -> list[Component]:
    """The components Karta assigns Pods to: its leaves."""
    return list(definition.leaves)


def _scoped_by_ownership(
    definition: Definition, component: Component, snapshot: Snapshot, pod: dict[str, Any]
) -> bool:
    """Whether a consumer reaches ``pod`` through ``component``'s ownerRef (the parent's kind owns it directly)."""
    parent = definition.component(component.owner_ref or "")
    owner = snapshot.direct_owner(pod)
    return bool(parent and parent.kind and owner and owner.get("kind") == parent.kind.kind)


def _membership(out: Verdicts, snapshot: Snapshot) -> dict[str, PodMatch] | None:
    """Pod uid -> the single component match, for Pods of the workload."""
    definition = out.definition
    workload = {p["metadata"]["uid"]: p for p in snapshot.pods()}
    result: dict[str, PodMatch] = {}
    ok = True
    try:
        for uid, pod in workload.items():
            chosen = [c for c in _pod_components(definition) if selects(definition, c, pod)]
            if len(chosen) != 1:
                ok = False
                selecting = ", ".join(c.name for c in chosen) or "no component"
                out.check(
                    names.MEMBERSHIP,
                    ", ".join(f"{c.where}.podSelector" for c in chosen) or "childComponents",
                    False,
                    f"Pod {pod_name(pod)} of the workload is selected by {selecting}; exactly one is required",
                    labels=pod["metadata"].get("labels"),
                )
                continue
            result[uid] = match(chosen[0], pod)
        for pod in snapshot.namespace_pods:
            if pod["metadata"]["uid"] in workload:
                continue
            for component in _pod_components(definition):
                if selects(definition, component, pod) and not _foreign_owner_excludes(
                    definition, component, snapshot, pod
                ):
                    ok = False
                    selector = component.pod_selector.component_type if component.pod_selector else None
                    out.check(
                        names.MEMBERSHIP,
                        f"{component.where}.podSelector.componentTypeSelector",
                        False,
                        f"selects Pod {pod_name(pod)}, which belongs to another workload, and the component's "
                        f"ownerRef {component.owner_ref!r} cannot scope it (its parent kind does not own the Pods directly)",
                        selector.key_path.text if selector else None,
                        labels=pod["metadata"].get("labels"),
                    )
    except EvaluationError as error:
        out.failed(names.MEMBERSHIP, error)
        return None
    if ok:
        out.check(
            names.MEMBERSHIP,
            "",
            True,
            f"each of the {len(workload)} Pods is selected by exactly one component; none outside",
        )
    return result if ok else None


def _foreign_owner_excludes(
    definition: Definition, component: Component, snapshot: Snapshot, pod: dict[str, Any]
) -> bool:
    """A Pod outside the workload is out of a component's reach when the parent kind owns Pods directly:
    consumers then find the component's Pods by ownership, and this Pod's owner is not in the workload."""
    parent = definition.component(component.owner_ref or "")
    owners = pod["metadata"].get("ownerReferences") or []
    return bool(parent and parent.kind and any(ref.get("kind") == parent.kind.kind for ref in owners))


def _owner_key(snapshot: Snapshot, pod: dict[str, Any]) -> str:
    owner = snapshot.direct_owner(pod)
    return f"{owner['kind']}/{owner['metadata']['name']}" if owner else "-"


def _instances_and_replicas(
    out: Verdicts, snapshot: Snapshot, declared: dict[str, list[Instance]], matches: dict[str, PodMatch]
) -> None:
    pods = {p["metadata"]["uid"]: p for p in snapshot.pods()}
    # (component, owner) -> instance id -> count
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for uid, found in matches.items():
        counts[(found.component, _owner_key(snapshot, pods[uid]))][found.instance_id or ""] += 1
    ok_ids = ok_replicas = True
    inexpressible: set[tuple[str, str]] = set()
    owner_of = {uid: _owner_key(snapshot, pods[uid]) for uid in matches}
    for component in _pod_components(out.definition):
        instances_ = declared.get(component.name, [])
        spec_ids = {i.id for i in instances_}
        # The owners this component's Pods belong under: every owner of its own or its siblings' Pods
        # (a RayCluster with a head but no worker Pods still owes its workers).
        siblings = {c.name for c in _pod_components(out.definition) if c.owner_ref == component.owner_ref}
        owners = sorted({owner_of[uid] for uid, m in matches.items() if m.component in siblings})
        for owner in owners:
            by_id = counts.get((component.name, owner), {})
            unknown = sorted(set(by_id) - spec_ids)
            if unknown and component.instance_id_path is not None:
                ok_ids = False
                selector = component.pod_selector.instance_id_path if component.pod_selector else None
                out.fail_at(
                    names.INSTANCE_IDS,
                    selector,
                    component.where,
                    f"Pods of {owner} carry instance id(s) {unknown} that the spec does not declare {sorted(spec_ids)}",
                )
            for instance in instances_:
                wanted = instance.scale.get("replicas")
                if (
                    component.instance_id_path is not None
                    # Pods still being made (an unsettled phase, e.g. just created) may lack an
                    # instance for now; a settled phase owes every declared one
                    and snapshot.expect.stable
                    and isinstance(wanted, int)
                    and wanted > 0
                    and instance.id not in by_id
                    and _owner_group_pods(snapshot, owner, instance.id) != 0  # else: cannot-express below
                ):
                    ok_ids = False
                    out.check(
                        names.INSTANCE_IDS,
                        f"{component.where}.instanceIdPath",
                        False,
                        f"instance {instance.id!r} declares {wanted} replica(s) but no Pod of {owner} carries its id",
                    )
                if not snapshot.expect.stable or not isinstance(wanted, int):
                    continue
                hosts = _num_of_hosts(snapshot.root, instance.id)
                live = by_id.get(instance.id, 0)
                if hosts != 1 and (component.name, instance.id) not in inexpressible:
                    inexpressible.add((component.name, instance.id))
                    _multi_host_gap(out, component, instance.id, hosts)
                # Karta's scale of a leaf counts Pods (CalculateSubtreeScale sums the leaves' scales as the
                # Pods a gang needs), so the reading must be the Pods, numOfHosts included.
                own = _owner_group_pods(snapshot, owner, instance.id)
                copied = _root_group_pods(snapshot, owner, instance.id)
                if (
                    live != wanted
                    and own == live
                    and copied is not None
                    and copied != own
                    and wanted == copied
                    and component.instance_id_path is not None
                ):
                    # CANNOT-EXPRESS, in KubeRay's terms: the RayCluster's worker group (replicas x numOfHosts,
                    # 0 when suspended) differs from the root's group it was copied from, the Pods follow the
                    # RayCluster's, and the definition reads exactly the root's. Karta reads scale paths on
                    # the root only, so no definition can read the RayCluster's number. A reading that is
                    # not the root's own (maxReplicas for replicas) is the definition's fault: a FAIL below.
                    path = component.scale.replicas_path if component.scale else None
                    out.items.append(
                        verdict_for(
                            out.definition,
                            names.CANNOT_EXPRESS,
                            path.where if path else f"{component.where}.scaleDefinition",
                            out.phase,
                            Outcome.CANNOT_EXPRESS,
                            f"{owner}: {live} live Pod(s) for instance {instance.id!r}, as {owner}'s own worker group "
                            f"says; the root's cluster spec it was copied from says {copied}, and the definition reads "
                            f"that ({wanted}). The operator changed the {owner.split('/')[0]} and not the root "
                            "(a RayService's replicas-only change never reaches it; RayJob deletionStrategy "
                            "DeleteWorkers suspends its worker groups), and Karta evaluates scale paths on the root only",
                            path.text if path else None,
                            {"root_reads": wanted, "root_spec": copied, "owner_spec": own, "live": live},
                        )
                    )
                elif live != wanted:
                    ok_replicas = False
                    path = component.scale.replicas_path if component.scale else None
                    hint = (
                        f"; the group has numOfHosts {hosts} and Karta counts Pods: the scale paths must "
                        "multiply by .numOfHosts"
                        if hosts != 1 and live == wanted * hosts
                        else ""
                    )
                    out.check(
                        names.REPLICAS,
                        path.where if path else f"{component.where}.scaleDefinition",
                        False,
                        f"{owner}: {live} live Pod(s) for instance {instance.id or component.name!r}, the scale path says "
                        f"{wanted}{hint}",
                        path.text if path else None,
                    )
                low, high = instance.scale.get("minReplicas"), instance.scale.get("maxReplicas")
                if (isinstance(low, int) and low > wanted) or (isinstance(high, int) and wanted > high):
                    ok_replicas = False
                    out.check(
                        names.REPLICAS,
                        f"{component.where}.scaleDefinition",
                        False,
                        f"instance {instance.id!r}: expected min <= replicas <= max, got {low}, {wanted}, {high}",
                    )
    if ok_ids:
        out.check(names.INSTANCE_IDS, "", True, "instance ids on the Pods match the spec, per owner")
    if ok_replicas:
        out.check(
            names.REPLICAS,
            "",
            True,
            "live Pods per instance match the scale paths"
            if snapshot.expect.stable
            else "not stable yet; bounds hold",
        )


def _multi_host_gap(out: Verdicts, component: Component, group: str, hosts: int) -> None:
    """A KubeRay replica of numOfHosts > 1 Pods, which no Karta definition can name as a unit."""
    out.items.append(
        verdict_for(
            out.definition,
            names.CANNOT_EXPRESS,
            f"{component.where}.podSelector.replicaSelector",
            out.phase,
            Outcome.CANNOT_EXPRESS,
            f"worker group {group!r}: one KubeRay replica is numOfHosts={hosts} Pods (sharing the label "
            "ray.io/worker-group-replica-name, KubeRay >= v1.5.1 with RayMultiHostIndexing). Karta's leaf scale counts "
            "Pods and every component needs an object kind of its own, so a definition can size the group "
            "(scale paths x numOfHosts) but cannot say which Pods form one replica: a consumer cannot place, "
            "gang or replace a multi-host replica as a unit",
            evidence={"group": group, "numOfHosts": hosts},
        )
    )


def _root_group_pods(snapshot: Snapshot, owner: str, group: str) -> int | None:
    """The Pods worker group ``group`` should have by the RayCluster spec embedded in the root, which
    KubeRay copies into the RayCluster ``owner`` it makes (a RayJob's ``rayClusterSpec``, a RayService's
    ``rayClusterConfig``, a RayCronJob's ``jobTemplate.rayClusterSpec``): replicas x numOfHosts, 0 when
    suspended. None when the owner is the root, or the root embeds no such group. Read from the root by
    this model of KubeRay, never by the definition under test."""
    kind, _, name = owner.partition("/")
    if kind != "RayCluster" or name == snapshot.root["metadata"].get("name"):
        return None
    embedded = _embedded_cluster_spec(snapshot.root)
    if embedded is None:
        return None
    return _group_pods(embedded, group)


def _embedded_cluster_spec(root: dict[str, Any]) -> dict[str, Any] | None:
    """The RayCluster spec a RayJob, RayService or RayCronJob root carries for the clusters it makes."""
    spec = root.get("spec") or {}
    job = spec.get("jobTemplate")  # a RayCronJob's RayJobs
    job = job if isinstance(job, dict) else {}
    embedded = spec.get("rayClusterSpec") or spec.get("rayClusterConfig") or job.get("rayClusterSpec")
    return embedded if isinstance(embedded, dict) else None


def _group_pods(spec: dict[str, Any], group: str) -> int | None:
    """A RayCluster spec's Pods for worker group ``group``: replicas x numOfHosts, 0 when the cluster or
    the group is suspended; None without such a group."""
    if spec.get("suspend") is True:
        return 0
    for item in spec.get("workerGroupSpecs") or []:
        if item.get("groupName") == group:
            if item.get("suspend") is True:
                return 0
            return int(item.get("replicas") or 0) * max(int(item.get("numOfHosts") or 1), 1)
    return None


def _owner_group_pods(snapshot: Snapshot, owner: str, group: str) -> int | None:
    """The Pods a worker group of ``owner`` (``Kind/name``, a RayCluster below the root) should have by
    its own spec: replicas x numOfHosts, 0 when suspended; None when the owner is the root or not a
    RayCluster, or has no such group."""
    kind, _, name = owner.partition("/")
    if kind != "RayCluster" or name == snapshot.root["metadata"].get("name"):
        return None
    for obj in snapshot.tree:
        if obj.get("kind") == kind and obj["metadata"].get("name") == name:
            return _group_pods(obj.get("spec") or {}, group)
    return None


def _num_of_hosts(root: dict[str, Any], group: str) -> int:
    """KubeRay's numOfHosts of worker group ``group`` anywhere in the root's spec (1 when absent)."""
    for found in jqexpr.run(
        '.. | objects | select(has("groupName")) | select(.groupName == $g) | (.numOfHosts // 1)'.replace(
            "$g", json.dumps(group)
        ),
        root,
    ):
        if isinstance(found, int) and found > 0:
            return found
    return 1


def _ownership(out: Verdicts, snapshot: Snapshot, matches: dict[str, PodMatch]) -> None:
    """One verdict per component's ``ownerRef`` and one for ``additionalChildKinds``, PASS or FAIL,
    whatever the tree holds at this phase: a phase that races the operator (a RayJob's created phase, taken
    before or after KubeRay made its cluster) changes an outcome, never which verdicts there are."""
    definition = out.definition
    pods = {p["metadata"]["uid"]: p for p in snapshot.pods()}
    for component in definition.children:
        parent = definition.component(component.owner_ref or "")
        if parent is None or parent.kind is None or component.kind is None:
            continue
        if component.is_pod:
            objects = [
                pods[uid] for uid, m in matches.items() if m.component == component.name and uid in pods
            ]
        else:
            objects = [o for o in snapshot.tree if o.get("kind") == component.kind.kind]
        # Other components of the same kind under other parents (a RayJob's submitter Job and a RayCluster's
        # redis-cleanup Job): an object is theirs when their parent is in its chain, not this one's.
        others = {
            sibling_parent.kind.kind
            for sibling in definition.children
            if sibling is not component
            and not component.is_pod
            and sibling.kind == component.kind
            and (sibling_parent := definition.component(sibling.owner_ref or "")) is not None
            and sibling_parent.kind is not None
        }
        for obj in objects:
            chain = [str(a.get("kind")) for a in snapshot.ancestors(obj)]
            if parent.kind.kind not in chain and not others & set(chain):
                out.check(
                    names.OWNERSHIP,
                    f"{component.where}.ownerRef",
                    False,
                    f"{obj['kind']} {obj['metadata']['name']} has owner chain {' -> '.join(chain) or 'none'}; "
                    f"ownerRef {component.owner_ref!r} ({parent.kind.kind}) is not in it",
                )
                break
        else:
            out.check(
                names.OWNERSHIP,
                f"{component.where}.ownerRef",
                True,
                f"{len(objects)} {component.kind.kind}(s) of component {component.name}, each with "
                f"{parent.kind.kind} ({component.owner_ref!r}) in its owner chain",
            )
    known = {(c.kind.api_version, c.kind.kind) for c in definition.components if c.kind}
    known |= {(k.api_version, k.kind) for k in definition.additional_child_kinds}
    component_kinds = {c.kind.kind for c in definition.components if c.kind}
    # Karta's CRD keys additionalChildKinds by kind alone (x-kubernetes-list-map-keys: [kind]): a definition
    # lists one PodGroup, say, and another API group's kind of that name cannot be listed beside it.
    listed = {k.kind: k.api_version for k in definition.additional_child_kinds}
    collided: set[tuple[str, str]] = set()
    unknown = 0
    for obj in snapshot.tree:
        owner = snapshot.direct_owner(obj)
        if owner is not None and owner.get("kind") not in component_kinds:
            continue  # made by Kubernetes for an object the workload created (e.g. EndpointSlices of a Service)
        gvk = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if gvk not in known and gvk[1] in listed and gvk[1] not in component_kinds:
            if gvk not in collided:
                collided.add(gvk)
                out.items.append(
                    verdict_for(
                        definition,
                        names.CANNOT_EXPRESS,
                        "additionalChildKinds",
                        out.phase,
                        Outcome.CANNOT_EXPRESS,
                        f"the live tree holds {gvk[0]} {gvk[1]} {obj['metadata']['name']}; the definition lists "
                        f"{listed[gvk[1]]} {gvk[1]}, and Karta keys additionalChildKinds by kind alone (its CRD's "
                        "list-map key), so no definition can list both",
                        None,
                        {"live": list(gvk), "listed": [listed[gvk[1]], gvk[1]]},
                    )
                )
            continue
        if gvk not in known:
            unknown += 1
            out.check(
                names.OWNERSHIP,
                "additionalChildKinds",
                False,
                f"the live tree holds {obj.get('apiVersion')} {obj.get('kind')} {obj['metadata']['name']}, "
                "which is neither a component kind nor listed in additionalChildKinds",
            )
    if not unknown:
        out.check(
            names.OWNERSHIP,
            "additionalChildKinds",
            True,
            f"each of the {len(snapshot.tree)} object(s) of the live tree is of a component kind, listed, or made "
            "by Kubernetes for one of them",
        )


def _top_owner(out: Verdicts, snapshot: Snapshot) -> None:
    """A consumer walks ownerReferences up from a Pod to its top owner and looks up the Karta of
    that object's GVK (KAI's pod-grouper does): the root must be the top owner."""
    root_kind = out.definition.root.kind
    assert root_kind is not None
    kind = f"{root_kind.api_version} {root_kind.kind}"
    owners = snapshot.root.get("metadata", {}).get("ownerReferences") or []
    if not owners:
        out.check(
            names.TOP_OWNER,
            "rootComponent.kind",
            True,
            f"the root has no owner: a consumer walking up from its Pods stops at it and looks up {kind}",
        )
        return
    above = owners[0]
    for reference in owners:
        if reference.get("controller"):
            above = reference
    out.add(
        names.TOP_OWNER,
        "rootComponent.kind",
        Outcome.CANNOT_EXPRESS,
        f"the root is owned by {above.get('apiVersion')} {above.get('kind')} {above.get('name')}: a consumer "
        f"walking up from the Pods looks up a Karta for {above.get('apiVersion')} {above.get('kind')}, not for "
        f"{kind}, so this definition is not used for this workload; a Karta's root must be the top owner, and no "
        f"{root_kind.kind} definition can say it sits below another object",
        owner=above,
    )


def _suspend_actions(out: Verdicts, snapshot: Snapshot) -> None:
    """The root's suspend (resume) actions make the change the scenario made to suspend (resume) the
    workload live: the same fields set to the same values (a phase the scenario reached that way)."""
    suspend = out.definition.root.suspend
    if suspend is None:
        return
    for action, actions in (("suspend", suspend.suspend_actions), ("resume", suspend.resume_actions)):
        live = {change(m["path"], m["value"]) for m in snapshot.expect.made_by if m.get("action") == action}
        if not live:
            continue
        subject = f"{suspend.where}.{action}Actions"
        try:
            theirs = action_changes(actions, snapshot.root)
        except EvaluationError as error:
            out.failed(names.SUSPEND_ACTIONS, error)
            continue
        done = "suspended" if action == "suspend" else "resumed"
        said = ", ".join(_shown(c) for c in sorted(theirs, key=str))
        made = ", ".join(_shown(c) for c in sorted(live, key=str))
        kind = snapshot.root.get("kind")
        out.check(
            names.SUSPEND_ACTIONS,
            subject,
            theirs == live,
            f"set {said}: the change that {done} this {kind} live"
            if theirs == live
            else f"set {said or 'nothing'}; the change that {done} this {kind} live was {made}",
        )


def _shown(one: Change) -> str:
    path, value = one
    return "." + ".".join(str(key) for key in path) + f" = {value}"


def _gang(out: Verdicts, snapshot: Snapshot) -> None:
    definition = out.definition
    if not definition.pod_groups:
        return
    owner_kind = snapshot.expect.gang_owner_kind
    expected: dict[str, set[str]] = defaultdict(set)
    for pod in snapshot.pods():
        owner = snapshot.direct_owner(pod)
        if owner is not None and owner.get("kind") == owner_kind:
            expected[owner["metadata"]["name"]].add(pod_name(pod))
    try:
        groups = gang_groups(definition, snapshot.pods())
    except EvaluationError as error:
        out.failed(names.GANG, error)
        return
    wanted = sorted(sorted(v) for v in expected.values())
    got = sorted(sorted(g.pods) for g in groups)
    if wanted == got:
        out.check(
            names.GANG,
            "optimizationInstructions.gangScheduling",
            True,
            f"one group per {owner_kind} ({len(groups)} groups)",
        )
    else:
        merged = [g for g in groups if sum(1 for members in expected.values() if members & set(g.pods)) > 1]
        detail = (
            f"group {merged[0].label} merges Pods of {sum(1 for m in expected.values() if m & set(merged[0].pods))} {owner_kind}s"
            if merged
            else f"groups {[g.label for g in groups]} do not match one group per {owner_kind}"
        )
        out.check(
            names.GANG,
            "optimizationInstructions.gangScheduling.podGroups",
            False,
            detail,
            expected={k: sorted(v) for k, v in expected.items()},
            yielded={g.label: list(g.pods) for g in groups},
        )
    _gang_minimum(out, snapshot, owner_kind)


def _gang_minimum(out: Verdicts, snapshot: Snapshot, owner_kind: str) -> None:
    """Each pod group's minimum, as a Karta consumer computes it per Pod, against the owner's need."""
    definition = out.definition
    subject = "optimizationInstructions.gangScheduling.podGroups"

    def gap(message: str, evidence: dict[str, Any]) -> Verdict:
        """A minimum no definition can get right (CANNOT-EXPRESS), with what shows it."""
        return verdict_for(
            definition,
            names.GANG_MINIMUM,
            subject,
            out.phase,
            Outcome.CANNOT_EXPRESS,
            message,
            None,
            evidence,
        )

    try:
        groups = gang_groups(definition, snapshot.pods(), snapshot.root)
    except EvaluationError as error:
        out.failed(names.GANG_MINIMUM, error, "a member Pod")
        return
    owners = {str(o["metadata"]["uid"]): o for o in snapshot.tree if o.get("kind") == owner_kind}
    pods = {pod_name(p): p for p in snapshot.pods()}
    if not groups:
        # Every phase gets its verdict, whether or not the operator had made Pods when it was taken (a
        # created phase races the operator): the set of verdicts is the same from run to run.
        out.check(
            names.GANG_MINIMUM, subject, True, "no pod group at this phase (no member Pods): nothing to size"
        )
    for group in sorted(groups, key=lambda g: g.label):
        minimums = dict(group.pod_minimums)
        mine = {
            str(owner["metadata"]["uid"]): owner
            for name in group.pods
            if (owner := snapshot.direct_owner(pods[name])) is not None and owner.get("kind") == owner_kind
        }
        evidence: dict[str, Any] = {
            "group": group.label,
            "effective_component": group.effective_component,
            "pod_minimums": minimums,
        }
        if len(mine) != 1:
            out.check(
                names.GANG_MINIMUM,
                subject,
                False,
                f"group {group.label} holds Pods of {len(mine)} {owner_kind}s; a minimum needs one",
                **evidence,
            )
            continue
        owner = owners.get(next(iter(mine)), next(iter(mine.values())))
        need = workloads.raycluster_gang_size(owner)
        evidence |= {"owner": owner["metadata"]["name"], "minimum": group.minimum, "expected": need}
        if group.minimum is None:
            out.check(
                names.GANG_MINIMUM,
                subject,
                False,
                f"group {group.label}: its Pods get different minimums {sorted(set(minimums.values()))} "
                f"(effective component {group.effective_component!r}); a consumer sizes the group by each Pod",
                **evidence,
            )
        elif group.minimum != need and group.minimum == (declared := _root_cluster_need(snapshot, owner)):
            # Karta's minimum is right for the cluster the root describes; the operator changed the
            # RayCluster and not the root (DeleteWorkers suspends its worker groups; an upgrade leaves the
            # active cluster on the older spec), and Karta evaluates scale paths on the root only.
            out.items.append(
                gap(
                    f"group {group.label}: minimum {group.minimum}, what the root's cluster spec needs, but "
                    f"{owner_kind} {owner['metadata']['name']} needs {need} Pods together by its own spec, which "
                    "the operator changed and not the root's (RayJob deletionStrategy DeleteWorkers suspends its "
                    "worker groups; during an upgrade the active cluster keeps the older spec). Karta evaluates scale "
                    "paths on the root only, so no definition can size this group: a gang scheduler would hold it "
                    f"to {group.minimum}",
                    evidence | {"root_spec_needs": declared},
                )
            )
        elif (
            group.minimum != need
            and group.minimum == need + sum((zero := workloads.zero_minimum_groups(owner)).values())
            and _reads_zero_minimum(definition, snapshot.root, set(zero))
        ):
            # Karta takes a component's replicas where its minReplicas reads 0 (getEffectiveMinReplicas):
            # a worker group that needs no Pod together (an autoscaled group with minReplicas 0) is counted
            # at the replicas it has now, and no reading of minReplicas can say 0.
            out.items.append(
                gap(
                    f"group {group.label}: minimum {group.minimum}, but {owner_kind} {owner['metadata']['name']} "
                    f"needs {need} Pods together: worker group(s) {sorted(zero)} have minReplicas 0 and "
                    f"{sum(zero.values())} Pod(s) now, and Karta counts a component's replicas where its "
                    "minReplicas is 0 (getEffectiveMinReplicas), so no definition can give them a minimum of 0: "
                    f"a gang scheduler would hold the cluster to {group.minimum} Pods",
                    evidence | {"zero_minimum_groups": zero},
                )
            )
        elif group.minimum != need:
            out.check(
                names.GANG_MINIMUM,
                subject,
                False,
                f"group {group.label}: minimum {group.minimum} (subtree scale of {group.effective_component!r}), "
                f"but {owner_kind} {owner['metadata']['name']} needs {need} Pods together "
                "(head + minReplicas x numOfHosts per worker group)",
                **evidence,
            )
        else:
            out.check(
                names.GANG_MINIMUM,
                subject,
                True,
                f"group {group.label}: minimum {group.minimum} = what {owner_kind} {owner['metadata']['name']} needs",
                **evidence,
            )


def _reads_zero_minimum(definition: Definition, root: dict[str, Any], groups: set[str]) -> bool:
    """Whether the definition reads minReplicas 0 (or none) for each of ``groups``, worker groups whose
    minReplicas KubeRay's spec says is 0: then Karta's getEffectiveMinReplicas takes their replicas, and no
    reading can say 0 (CANNOT-EXPRESS). A definition that reads another number for them (maxReplicas, say)
    is wrong on its own account, whatever the sum comes to: a FAIL."""
    readings: dict[str, Any] = {}
    for component in _pod_components(definition):
        if component.instance_id_path is None:
            continue
        try:
            for instance in instances(component, root):
                readings.setdefault(instance.id, instance.scale.get("minReplicas"))
        except EvaluationError:
            return False
    return all(group in readings and readings[group] in (0, None) for group in groups)


def _root_cluster_need(snapshot: Snapshot, owner: dict[str, Any]) -> int | None:
    """What the RayCluster spec embedded in the root (a RayJob's rayClusterSpec, a RayService's
    rayClusterConfig, a RayCronJob's jobTemplate.rayClusterSpec) needs together, for ``owner`` made from it; None when the owner is the root or
    the root embeds no cluster spec."""
    if owner["metadata"].get("uid") == snapshot.root["metadata"].get("uid"):
        return None
    embedded = _embedded_cluster_spec(snapshot.root)
    return workloads.raycluster_gang_size({"spec": embedded}) if embedded is not None else None


def _status(out: Verdicts, snapshot: Snapshot) -> None:
    root = out.definition.root
    assert root.status is not None
    try:
        reading = read_status(root.status, snapshot.root)
    except EvaluationError as error:
        out.failed(names.STATUS, error, "the live root")
        return
    expected = sorted(snapshot.expect.statuses)
    known = dialects.by_name(out.definition.dialect).statuses
    missing = [s for s in expected if s not in known]
    if missing:
        out.items.append(
            verdict_for(
                out.definition,
                names.CANNOT_EXPRESS,
                "rootComponent.statusDefinition.statusMappings",
                out.phase,
                Outcome.CANNOT_EXPRESS,
                f"the workload is {', '.join(missing)}, a status the {dialects.by_name(out.definition.dialect).label} "
                f"dialect does not have (it has {', '.join(known)})",
                evidence={"live_status": snapshot.root.get("status")},
            )
        )
        return
    ok = sorted(reading.matched) == expected and not reading.contradictions
    out.check(
        names.STATUS,
        "rootComponent.statusDefinition.statusMappings",
        ok,
        f"matched {list(reading.matched) or 'nothing'}"
        + ("" if ok else f", expected {expected}")
        + (f"; contradictory: {reading.contradictions}" if reading.contradictions else ""),
        live_status=snapshot.root.get("status"),
    )


def _fidelity(
    out: Verdicts, snapshot: Snapshot, declared: dict[str, list[Instance]], matches: dict[str, PodMatch]
) -> None:
    pods = {p["metadata"]["uid"]: p for p in snapshot.pods()}
    current = set(snapshot.expect.current_owners)
    # Pods of a superseded owner (the old RayCluster during an upgrade) carry the old templates: skip
    # them; Pods owned by other kinds (the submitter Job's Pod) are checked.
    current_kinds = {o.get("kind") for o in snapshot.tree if o["metadata"]["name"] in current}
    stale = set(snapshot.expect.stale_owners)
    gaps: dict[str, tuple[str, str | None, str]] = {}  # component -> (where, jq text, what differs)
    handed: dict[str, tuple[str, str | None, str]] = {}  # component -> (where, jq text, template's scheduler)
    ok = True
    checked = 0
    for uid, found in matches.items():
        pod = pods[uid]
        chain = snapshot.ancestors(pod)
        # The Pod's owner among the current owners' kind, however deep (the redis-cleanup Pod of an old
        # RayCluster is that cluster's Job's Pod); else its direct owner.
        owner = next((o for o in chain if o.get("kind") in current_kinds), chain[0] if chain else None)
        if current and (
            owner is None or (owner.get("kind") in current_kinds and owner["metadata"]["name"] not in current)
        ):
            continue
        component = out.definition.component(found.component)
        instance = next(
            (i for i in declared.get(found.component, []) if i.id == (found.instance_id or "")), None
        )
        if component is None or instance is None or not isinstance(instance.pod_template, dict):
            continue
        checked += 1
        spec = component.spec
        path = (spec.pod_template_spec_path or spec.pod_spec_path) if spec else None
        template = instance.pod_template
        override = snapshot.expect.scheduler_override
        wanted = (template.get("spec") or {}).get("schedulerName")
        if (
            override
            and wanted
            and wanted != override
            and (pod.get("spec") or {}).get("schedulerName") == override
        ):
            # The operator's --batch-scheduler hands every Pod to that scheduler over the template's: a
            # flag of the operator, which no path of the root reads. Compared on, the rest must still hold.
            where = path.where if path else f"{component.where}.specDefinition"
            handed.setdefault(component.name, (where, path.text if path else None, wanted))
            template = {**template, "spec": {**(template.get("spec") or {}), "schedulerName": override}}
        for problem in _template_differences(template, pod):
            if (
                owner is not None
                and owner["metadata"]["name"] in stale
                and _follows_its_stale_owner(pod, owner, snapshot.root, template)
            ):
                where = path.where if path else f"{component.where}.specDefinition"
                gaps.setdefault(
                    component.name, (where, path.text if path else None, f"Pod {pod_name(pod)}: {problem}")
                )
                break
            ok = False
            out.fail_at(names.TEMPLATE_FIDELITY, path, component.where, f"Pod {pod_name(pod)}: {problem}")
            break
    stale_why = (
        "The Pods keep the templates of an older spec of the root, and no newer owner is coming (a RayService's "
        "cluster-level change under upgradeStrategy None: the operator leaves the RayCluster as it was). Karta "
        "evaluates template paths on the root only, so no definition can read the templates these Pods were made from"
    )
    gap_verdicts: list[tuple[str, str, str | None, str, dict[str, Any]]] = [
        (name, where, text, f"{problem}. {stale_why}", {"stale_owners": sorted(stale)})
        for name, (where, text, problem) in gaps.items()
    ] + [
        (
            name,
            where,
            text,
            f"the operator's --batch-scheduler hands its Pods to scheduler {snapshot.expect.scheduler_override!r}, "
            f"over the template's schedulerName {wanted!r}. The flag is the operator's, not the root's: no "
            "definition can say which scheduler the Pods will have",
            {"template_scheduler": wanted, "pod_scheduler": snapshot.expect.scheduler_override},
        )
        for name, (where, text, wanted) in handed.items()
    ]
    for name, where, text, message, evidence in gap_verdicts:
        out.items.append(
            verdict_for(
                out.definition,
                names.CANNOT_EXPRESS,
                where,
                out.phase,
                Outcome.CANNOT_EXPRESS,
                f"component {name!r}: {message}",
                text,
                evidence,
            )
        )
    if ok:
        out.check(names.TEMPLATE_FIDELITY, "", True, f"{checked} Pod(s) carry their extracted templates")


def _group_template(cluster_spec: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any] | None:
    """The template a RayCluster spec has for ``pod``'s group: the head's, or its worker group's
    (``ray.io/group``); None for another node type (a redis-cleanup Pod) or a group the spec lacks."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    node_type = labels.get("ray.io/node-type")
    if node_type == "head":
        found = (cluster_spec.get("headGroupSpec") or {}).get("template")
        return found if isinstance(found, dict) else None
    if node_type == "worker":
        for group in cluster_spec.get("workerGroupSpecs") or []:
            if group.get("groupName") == labels.get("ray.io/group") and isinstance(
                group.get("template"), dict
            ):
                template: dict[str, Any] = group["template"]
                return template
    return None


def _follows_its_stale_owner(
    pod: dict[str, Any], owner: dict[str, Any], root: dict[str, Any], extracted: dict[str, Any]
) -> bool:
    """CANNOT-EXPRESS, in KubeRay's terms: the Pod carries its RayCluster's own template for its group (an
    older spec of the root the operator left as it was), and the definition's template differs from the
    Pod exactly as the root's embedded template for that group does (the definition reads the root's).
    A reading that is not the root's (another group's template, a wrong path) is a FAIL. A Pod of another
    node type (a superseded cluster's redis-cleanup Pod, built from its head template by KubeRay's own
    rules) has no group template to compare: it stays CANNOT-EXPRESS."""
    embedded = _embedded_cluster_spec(root)
    own = _group_template(owner.get("spec") or {}, pod)
    copied = _group_template(embedded, pod) if embedded is not None else None
    node_type = ((pod.get("metadata") or {}).get("labels") or {}).get("ray.io/node-type")
    if node_type not in ("head", "worker"):
        return True
    if own is None or copied is None:
        return False
    return not _template_differences(own, pod) and _template_differences(
        extracted, pod
    ) == _template_differences(copied, pod)


def _template_differences(template: dict[str, Any], pod: dict[str, Any]) -> list[str]:
    problems = []
    metadata = template.get("metadata") or {}
    live_meta = pod.get("metadata") or {}
    for field in ("labels", "annotations"):
        for key, value in (metadata.get(field) or {}).items():
            if (live_meta.get(field) or {}).get(key) != value:
                problems.append(
                    f"{field[:-1]} {key}={value!r} from the template is {(live_meta.get(field) or {}).get(key)!r}"
                )
    spec = template.get("spec") or {}
    live_spec = pod.get("spec") or {}
    if spec.get("schedulerName") and spec.get("schedulerName") != live_spec.get("schedulerName"):
        problems.append(f"schedulerName {spec['schedulerName']!r} is {live_spec.get('schedulerName')!r}")
    live_containers = {c.get("name"): c for c in live_spec.get("containers") or []}
    for container in spec.get("containers") or []:
        live = live_containers.get(container.get("name"))
        if live is None:
            problems.append(f"container {container.get('name')!r} is missing")
            continue
        if container.get("image") != live.get("image"):
            problems.append(
                f"container {container['name']!r} image {container.get('image')!r} is {live.get('image')!r}"
            )
        for kind in ("requests", "limits"):
            for resource, quantity in ((container.get("resources") or {}).get(kind) or {}).items():
                got = ((live.get("resources") or {}).get(kind) or {}).get(resource)
                if str(got) != str(quantity):
                    problems.append(
                        f"container {container['name']!r} {kind}.{resource} {quantity!r} is {got!r}"
                    )
    return problems
