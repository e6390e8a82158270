"""The static read-path analysis used for CRD schema checks."""

from __future__ import annotations

import pytest

from conformance.jq.paths import leaf_paths

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        (".spec.workerGroupSpecs[].template", [("spec", "workerGroupSpecs", "[]", "template")]),
        (".spec.workerGroupSpecs[] | (.replicas // 0)", [("spec", "workerGroupSpecs", "[]", "replicas")]),
        ('.metadata.labels["ray.io/node-type"]', [("metadata", "labels", "ray.io/node-type")]),
        ('"1"', []),
        (
            '(.status.conditions // []) | any(.type == "Ready" and .status == "True")',
            [("status", "conditions", "[]", "status"), ("status", "conditions", "[]", "type")],
        ),
        ("any(.status.c[]; .x == 1)", [("status", "c", "[]", "x")]),
        (".spec.w | map(.groupName)[]", [("spec", "w", "[]", "groupName")]),
        ("if .a.b == 1 then .c else .d.e end", [("a", "b"), ("c",), ("d", "e")]),
        ('.a | select(.b == "x") | .c', [("a", "b"), ("a", "c")]),
        ('."quoted".x', [("quoted", "x")]),
        ("[.a[0].b, .c]", [("a", "[]", "b"), ("c",)]),
    ],
)
def test_read_paths(expression: str, paths: list[tuple[str, ...]]) -> None:
    assert leaf_paths(expression) == sorted(paths)
