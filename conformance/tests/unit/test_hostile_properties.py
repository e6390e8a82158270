"""Property-based (PyPI hypothesis): generated jq expressions and YAML shapes always end in exit 0, 1 or 2,
never an exception (a traceback), within bounded time."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.claims.static import check_definitions
from conformance.definition.loader import load_text
from conformance.errors import UserError
from conformance.fixtures import load_fixtures
from conformance.jq import expr as jqexpr
from conformance.report import formats as report
from conformance.static.session import schema_sources
from conformance.tests.unit.test_hostile import HERE
from conformance.verdict import exit_code

pytestmark = pytest.mark.static

BASE_TEXT = (HERE / "definitions" / "formats.yaml").read_text()
BASE: dict[str, Any] = yaml.safe_load(BASE_TEXT)
FIXTURES = load_fixtures()
SCHEMAS = schema_sources(["v1.6.2"])
EXAMPLE_SECONDS = 15
PROPERTY = settings(
    max_examples=60,
    deadline=timedelta(seconds=EXAMPLE_SECONDS),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture(autouse=True, scope="module")
def short_jq_timeout() -> Iterator[None]:
    """Generated loops stop after 2 s instead of Karta's 10 s: bounded either way, the suite stays quick."""
    jqexpr._WORKER.timeout, before = 2.0, jqexpr._WORKER.timeout
    try:
        yield
    finally:
        jqexpr._WORKER.timeout = before
        jqexpr._memo.clear()


def _exit(text: str) -> int:
    """What `karta-conformance check --static` would exit with on this definition text."""
    try:
        definitions = load_text(text, "generated.yaml")
    except UserError:
        return 2
    verdicts = check_definitions(definitions, FIXTURES, SCHEMAS)
    report.text_lines(verdicts, "header")
    report.markdown(verdicts, "title")
    return exit_code(verdicts)


ATOMS = st.sampled_from(
    [
        ".",
        ".spec",
        ".spec.headGroupSpec.template",
        ".spec.workerGroupSpecs[]",
        ".metadata.name",
        '.["a b"]',
        ".a?",
        "..",
        '"text"',
        '"\\(.spec)"',
        "1",
        "null",
        "$ENV",
        "env",
        "input",
        "$__loc__",
        "@json",
        "@sh",
        "@base64d",
        "tostring",
        "fromjson",
        "keys",
        "length",
        "empty",
        "range(5)",
        "repeat(.)",
        "error",
        'error("\\n::error::x")',
        "debug",
        'import "x" as $x; $x',
    ]
)


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    two = st.tuples(inner, inner)
    return st.one_of(
        two.map(lambda p: f"{p[0]} | {p[1]}"),
        two.map(lambda p: f"{p[0]}, {p[1]}"),
        two.map(lambda p: f"{p[0]} // {p[1]}"),
        two.map(lambda p: f"{p[0]} ?// {p[1]}"),
        two.map(lambda p: f"{p[0]} == {p[1]}"),
        two.map(lambda p: f"if {p[0]} then {p[1]} else . end"),
        two.map(lambda p: f"{p[0]} as $v | {p[1]}"),
        two.map(lambda p: f"reduce {p[0]} as $x (0; {p[1]})"),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"[{e}]"),
        inner.map(lambda e: f"{{a: {e}}}"),
        inner.map(lambda e: f'"x\\({e})y"'),
        inner.map(lambda e: f'@sh "echo \\({e})"'),
        inner.map(lambda e: f"select({e})"),
        inner.map(lambda e: f"try {e}"),
        inner.map(lambda e: f"limit(3; {e})"),
        inner.map(lambda e: f"{e}?"),
        inner.map(lambda e: f"{e}[0]"),
        inner.map(lambda e: f"# comment \\\n{e}"),
    )


EXPRESSIONS = st.one_of(
    st.recursive(ATOMS, _combine, max_leaves=12),
    st.text(alphabet=st.sampled_from(list('.|[]{}()"\\$@?:;,#\n ab1')), max_size=60),
    st.integers(min_value=1, max_value=400).map(lambda n: "(" * n + ".spec" + ")" * n),
)


@PROPERTY
@given(EXPRESSIONS)
def test_any_expression_ends_in_0_1_or_2(expression: str) -> None:
    document = copy.deepcopy(BASE)
    head = document["spec"]["structureDefinition"]["childComponents"][0]
    head["specDefinition"]["podTemplateSpecPath"] = expression
    started = time.monotonic()
    assert _exit(json.dumps(document)) in (0, 1, 2)
    assert time.monotonic() - started < EXAMPLE_SECONDS


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


PATHS = _paths(BASE)


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    document = copy.deepcopy(document)
    node = document
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return document


MUTATIONS = st.sampled_from(
    [
        lambda text: text,
        lambda text: text + text,  # a duplicate of every key
        lambda text: (
            "a: &a [x, x, x, x, x, x, x, x]\n"
            + "".join(f"k{i}: &k{i} [*{'a' if i == 0 else f'k{i - 1}'}]\n" for i in range(8))
            + text
        ),
        lambda text: "[" * 300 + text.replace("\n", " ") + "]" * 300,
        lambda text: text.replace(":", ": !!binary", 1),
        lambda text: text.replace("\n", "\n\t", 1),
        lambda text: text[: len(text) // 2],
        lambda text: "---\n" + text + "\n---\n" + text,
        lambda text: text.replace("name", "1", 1),
        lambda text: "&x " + text,
    ]
)


@PROPERTY
@given(st.sampled_from(PATHS), JSON_VALUES, MUTATIONS)
def test_any_yaml_shape_ends_in_0_1_or_2(path: tuple[Any, ...], value: Any, mutate: Any) -> None:
    text = mutate(yaml.safe_dump(_replace(BASE, path, value), sort_keys=False))
    started = time.monotonic()
    assert _exit(text) in (0, 1, 2)
    assert time.monotonic() - started < EXAMPLE_SECONDS
