"""Static claims: a definition checked against fixtures and CRD schemas, with no cluster.

For every definition:
- ``hermetic``: no expression uses the environment, modules, input-reading or side-channel builtins;
- ``valid``: Karta's validation rules hold;
- ``instance-id-in-spec``: every instanceIdPath reads the CR's spec only;
and for every fixture of its root kind:
- ``paths-resolve``: every root path evaluates and yields a value;
- ``instance-ids``: instance ids are non-empty strings;
- ``beyond-karta``: what Karta accepts but the harness refuses, said as such (repeated instance ids);
- ``instance-alignment``: per-instance paths yield one output per instance id;
- ``pod-template-shape``: pod templates are PodTemplateSpec-shaped (``spec.containers`` non-empty);
- ``scale``: scale values are integers >= 0 with min <= replicas <= max;
and for every supported KubeRay version:
- ``schema``: the root GVK is served by the version's CRDs and every root path exists in its schema
  (a suspend/resume action path the inventory says the version lacks is CANNOT-EXPRESS there: a
  definition cannot name the versions its actions apply to).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from conformance import inventory
from conformance.claims import names
from conformance.claims.collect import Verdicts, shown
from conformance.claims.coverage import not_checked
from conformance.definition import rules
from conformance.definition.model import Component, Context, Definition, Expression
from conformance.definition.schema import Crd, find, path_in_schema
from conformance.errors import EvaluationError
from conformance.evaluate.common import outputs
from conformance.evaluate.instances import beyond_karta, instance_ids, instances
from conformance.fixtures import Fixture
from conformance.jq import expr as jqexpr
from conformance.jq.paths import NotAnalysed, leaf_paths
from conformance.verdict import Outcome, Verdict

STATIC = "static"


@dataclass(frozen=True)
class SchemaSource:
    """The CRDs of one KubeRay version, or why they cannot be had."""

    version: str
    crds: list[Crd] | None
    unavailable: str | None = None


def check_definitions(
    definitions: Iterable[Definition], fixtures: list[Fixture], schemas: list[SchemaSource]
) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for definition in definitions:
        verdicts.extend(check_definition(definition, fixtures, schemas))
    return verdicts


def check_definition(
    definition: Definition, fixtures: list[Fixture], schemas: list[SchemaSource]
) -> list[Verdict]:
    out = Verdicts(definition, STATIC)
    if not hermetic(definition, out):
        return out.items
    problems = rules.check(definition)
    for problem in problems:
        out.add(names.VALID, problem.where, Outcome.FAIL, f"{problem.message} [{problem.rule}]")
    if problems:
        out.add(
            names.EVALUATION,
            "",
            Outcome.ERROR,
            f"not evaluated: the definition breaks {len(problems)} Karta validation rule(s)",
        )
        return out.items
    out.add(names.VALID, "", Outcome.PASS, "Karta validation rules hold")
    out.items.extend(not_checked(definition, STATIC))
    _instance_ids_in_spec(definition, out)
    root_kind = definition.root.kind
    assert root_kind is not None
    mine = [f for f in fixtures if f.api_version == root_kind.api_version and f.kind == root_kind.kind]
    if not mine:
        out.add(
            names.FIXTURES,
            "rootComponent.kind",
            Outcome.ERROR,
            f"no fixture of kind {root_kind.api_version} {root_kind.kind} to evaluate the definition on",
        )
    for fixture in mine:
        _check_fixture(definition, fixture, out)
    for schema in schemas:
        _check_schema(definition, schema, out)
    return out.items


def hermetic(definition: Definition, out: Verdicts) -> bool:
    """The ``hermetic`` claim; False (and an ERROR "not evaluated") when an expression is not hermetic."""
    bad = 0
    for expression in definition.expressions():
        for problem in jqexpr.hermetic_problems(expression.text):
            bad += 1
            out.add(
                names.HERMETIC,
                expression.where,
                Outcome.FAIL,
                f"uses {problem}; definitions are evaluated as Karta does, without environment, modules, "
                f"inputs or side channels (jq: {shown(expression.text)})",
                expression=expression.text,
            )
    if bad:
        out.add(
            names.EVALUATION,
            "",
            Outcome.ERROR,
            f"not evaluated: {bad} use(s) of the environment, modules, inputs or side channels",
        )
        return False
    out.add(
        names.HERMETIC,
        "",
        Outcome.PASS,
        "no expression uses the environment, modules, inputs or side channels",
    )
    return True


def root_expressions(definition: Definition) -> list[Expression]:
    return [e for e in definition.expressions() if e.context is Context.ROOT]


def _instance_ids_in_spec(definition: Definition, out: Verdicts) -> None:
    for component in definition.components:
        expression = component.instance_id_path
        if expression is None:
            continue
        read = _analysed(expression, out.add, names.INSTANCE_ID_IN_SPEC)
        if read is None:
            continue
        outside = [p for p in read if p[0] != "spec"]
        if outside or not read:
            named = ", ".join("." + ".".join(p).replace(".[]", "[]") for p in outside) or "no field of the CR"
            out.add(
                names.INSTANCE_ID_IN_SPEC,
                expression.where,
                Outcome.FAIL,
                f"instanceIdPath reads {named}: instance ids must come from the CR's spec",
                expression=expression.text,
            )
        else:
            out.add(
                names.INSTANCE_ID_IN_SPEC,
                expression.where,
                Outcome.PASS,
                "reads .spec only",
                expression=expression.text,
            )


def _check_fixture(definition: Definition, fixture: Fixture, out: Verdicts) -> None:
    phase = f"{STATIC}:{fixture.name}"
    root = fixture.object
    # paths-resolve: every root path evaluates; spec and instance paths yield a value.
    for expression in root_expressions(definition):
        try:
            results = outputs(expression, root)
        except EvaluationError as error:
            out.failed(names.PATHS_RESOLVE, error, phase=phase)
            continue
        optional = ".scaleDefinition." in expression.where or ".statusDefinition." in expression.where
        if not optional and not [r for r in results if r is not None]:
            out.add(
                names.PATHS_RESOLVE,
                expression.where,
                Outcome.FAIL,
                f"yields no value on {fixture.source} (jq: {shown(expression.text)})",
                phase=phase,
                expression=expression.text,
                yielded=results,
            )
        else:
            out.add(
                names.PATHS_RESOLVE,
                expression.where,
                Outcome.PASS,
                "resolves",
                phase=phase,
                expression=expression.text,
            )
    for component in definition.components:
        _check_component(component, fixture, phase, out)


def _check_component(component: Component, fixture: Fixture, phase: str, out: Verdicts) -> None:
    root = fixture.object
    if component.instance_id_path is not None:
        try:
            ids = instance_ids(component, root)
        except EvaluationError as error:
            out.failed(names.INSTANCE_IDS, error, phase=phase)
            return
        if not ids:
            out.add(
                names.INSTANCE_IDS,
                component.instance_id_path.where,
                Outcome.FAIL,
                f"yields no instance id on {fixture.source}",
                phase=phase,
                expression=component.instance_id_path.text,
            )
            return
        out.add(names.INSTANCE_IDS, component.instance_id_path.where, Outcome.PASS, f"ids {ids}", phase=phase)
        stricter = beyond_karta(component, root)
        if stricter:
            out.add(
                names.BEYOND_KARTA,
                component.instance_id_path.where,
                Outcome.FAIL,
                stricter,
                phase=phase,
                expression=component.instance_id_path.text,
            )
    try:
        declared = instances(component, root)
    except EvaluationError as error:
        out.failed(names.INSTANCE_ALIGNMENT, error, phase=phase)
        return
    if component.instance_id_path is not None:
        out.add(
            names.INSTANCE_ALIGNMENT, component.where, Outcome.PASS, "per-instance paths align", phase=phase
        )
    spec = component.spec
    template_path = spec.pod_template_spec_path or spec.pod_spec_path if spec else None
    if template_path is not None:
        bad = {i.id: _template_problem(i.pod_template) for i in declared if _template_problem(i.pod_template)}
        if bad:
            instance, problem = next(iter(bad.items()))
            out.add(
                names.POD_TEMPLATE_SHAPE,
                template_path.where,
                Outcome.FAIL,
                f"{problem}"
                + (f" for instance {instance!r}" if instance else "")
                + f" (jq: {shown(template_path.text)})",
                phase=phase,
                expression=template_path.text,
            )
        else:
            out.add(
                names.POD_TEMPLATE_SHAPE,
                template_path.where,
                Outcome.PASS,
                "PodTemplateSpec-shaped",
                phase=phase,
            )
    if component.scale is not None:
        _check_scale(component, declared, phase, out)


def _template_problem(template: Any) -> str | None:
    if not isinstance(template, dict):
        return f"yields {jqexpr.stringify(template)[:60]}, not a PodTemplateSpec object"
    containers = (
        (template.get("spec") or {}).get("containers") if isinstance(template.get("spec"), dict) else None
    )
    if not isinstance(containers, list) or not containers:
        return "yields an object without spec.containers: not a PodTemplateSpec"
    return None


def _check_scale(component: Component, declared: list[Any], phase: str, out: Verdicts) -> None:
    assert component.scale is not None
    paths = component.scale.paths()
    for instance in declared:
        values = instance.scale
        label = f" for instance {instance.id!r}" if instance.id else ""
        for name, value in values.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                out.add(
                    names.SCALE,
                    paths[name].where,
                    Outcome.FAIL,
                    f"{name} is {jqexpr.stringify(value)}{label}: must be an integer >= 0 (jq: {shown(paths[name].text)})",
                    phase=phase,
                    expression=paths[name].text,
                )
                return
        low, mid, high = values.get("minReplicas"), values.get("replicas"), values.get("maxReplicas")
        ordered = [v for v in (low, mid, high) if isinstance(v, int)]
        if ordered != sorted(ordered):
            out.add(
                names.SCALE,
                f"{component.where}.scaleDefinition",
                Outcome.FAIL,
                f"expected minReplicas <= replicas <= maxReplicas{label}, got {low}, {mid}, {high}",
                phase=phase,
            )
            return
    out.add(
        names.SCALE,
        f"{component.where}.scaleDefinition",
        Outcome.PASS,
        "scale values are ordered integers",
        phase=phase,
    )


def _check_schema(definition: Definition, schema: SchemaSource, out: Verdicts) -> None:
    phase = f"{STATIC}:kuberay-{schema.version}"
    kind = definition.root.kind
    assert kind is not None
    if schema.crds is None:
        out.add(
            names.SCHEMA,
            "rootComponent.kind",
            Outcome.UNVERIFIED,
            f"cannot check against KubeRay {schema.version} here: {schema.unavailable}",
            phase=phase,
        )
        return
    crd = find(schema.crds, kind)
    openapi = crd.schema(kind.version) if crd else None
    brought = inventory.kind_feature(kind.kind)
    if crd is None and brought is not None and not brought.exists_in(schema.version):
        out.add(
            names.SCHEMA,
            "rootComponent.kind",
            Outcome.NOT_APPLICABLE,
            f"KubeRay {schema.version} does not serve {kind.kind} (feature {brought.name}: "
            f"{', '.join(brought.versions)} only)",
            phase=phase,
        )
        return
    if crd is None or openapi is None:
        out.add(
            names.SCHEMA,
            "rootComponent.kind",
            Outcome.FAIL,
            f"{kind} is not served by the CRDs of KubeRay {schema.version}",
            phase=phase,
        )
        return
    failures = lacking = 0
    actions = list(definition.suspend_expressions())
    for expression in [*root_expressions(definition), *actions]:
        read = _analysed(
            expression,
            out.add,
            names.SCHEMA,
            f"; its paths are not checked against KubeRay {schema.version}'s CRD",
            phase,
        )
        if read is None:
            continue
        for path in read:
            missing = path_in_schema(openapi, path)
            absent = _lacked(kind.kind, path, schema.version) if expression in actions else None
            if missing is not None and absent is not None:
                lacking += 1
                out.add(
                    names.SCHEMA,
                    expression.where,
                    Outcome.CANNOT_EXPRESS,
                    f"{missing} of {kind.kind} in KubeRay {schema.version}'s CRD: the field exists in "
                    f"{', '.join(absent.versions)} only (feature {absent.name}), so on {schema.version} the "
                    "API server prunes it and the action does nothing; a definition cannot name the "
                    f"versions its actions apply to (jq: {shown(expression.text)})",
                    phase=phase,
                    expression=expression.text,
                )
            elif missing is not None:
                failures += 1
                out.add(
                    names.SCHEMA,
                    expression.where,
                    Outcome.FAIL,
                    f"{missing} of {kind.kind} in KubeRay {schema.version}'s CRD (jq: {shown(expression.text)})",
                    phase=phase,
                    expression=expression.text,
                )
    if not failures and not lacking:
        out.add(
            names.SCHEMA,
            "",
            Outcome.PASS,
            f"every root path exists in KubeRay {schema.version}'s CRD",
            phase=phase,
        )


def _lacked(kind: str, path: tuple[str, ...], version: str) -> inventory.Feature | None:
    """The inventory's feature whose field ``path`` is (a field of ``kind``), when ``version`` lacks it."""
    dotted = ".".join(path)
    for feature in inventory.load():
        if kind in feature.kinds and feature.type == "field" and feature.what == dotted:
            return None if feature.exists_in(version) else feature
    return None


def _analysed(
    expression: Expression, add: Callable[..., None], claim: str, consequence: str = "", phase: str = STATIC
) -> list[tuple[str, ...]] | None:
    """The leaf paths ``expression`` reads, or None once ``claim`` is reported UNVERIFIED because the
    path analysis does not cover it (``consequence`` says what is then left unchecked)."""
    try:
        return leaf_paths(expression.text)
    except NotAnalysed as reason:
        add(
            claim,
            expression.where,
            Outcome.UNVERIFIED,
            f"not analysed: {reason}{consequence} (jq: {shown(expression.text)})",
            phase=phase,
            expression=expression.text,
        )
        return None
