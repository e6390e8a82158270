"""jq runs as Karta runs it: empty environment, no modules, 10 s, 1000 results, a memory bound."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.jq import expr as jqexpr
from conformance.jq.paths import NotAnalysed, leaf_paths

pytestmark = pytest.mark.unit


@pytest.fixture
def short_timeout() -> Iterator[None]:
    jqexpr._WORKER.timeout, before = 1.0, jqexpr._WORKER.timeout
    jqexpr._memo.clear()
    try:
        yield
    finally:
        jqexpr._WORKER.timeout = before


def test_environment_is_empty_and_no_secret_reaches_a_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KARTA_TEST_SECRET", "hunter2")
    jqexpr._WORKER.stop()  # a fresh worker, started while the secret is in our environment
    assert jqexpr.run("$ENV", {}) == [{}]
    assert jqexpr.run("env", {}) == [{}]
    assert "hunter2" not in str(jqexpr.run("[$ENV, env] | tostring", {}))


def test_import_and_include_never_read_a_file(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text('{"token": "hunter2"}')
    for program in (
        f'import "secret" as $d {{search: "{tmp_path}"}}; $d',
        f'include "secret" {{search: "{tmp_path}"}}; .',
        f'module {{}}; import "secret" as $d {{search: "{tmp_path}"}}; $d',
    ):
        reason = jqexpr.compile_check(program)
        assert reason is not None and "hunter2" not in reason
        assert "syntax error" in reason
        with pytest.raises(jqexpr.JqError):
            jqexpr.run(program, {})


def test_result_cap_is_karta_s_a_query_reaching_1000_fails() -> None:
    assert len(jqexpr.run("range(999)", None)) == 999
    with pytest.raises(jqexpr.JqLimit, match="exceed the allowed number 1000"):
        jqexpr.run("range(1000)", None)
    with pytest.raises(jqexpr.JqLimit, match="1000"):
        jqexpr.run("repeat(.)", 1)


def test_a_query_that_never_ends_is_stopped_and_the_next_query_runs(short_timeout: None) -> None:
    started = time.monotonic()
    with pytest.raises(jqexpr.JqLimit, match="time limit of 1 s"):
        jqexpr.run("def f: f; f", None)
    assert time.monotonic() - started < 3
    assert jqexpr.run(".a", {"a": 2}) == [2]


def test_memory_is_bounded_and_the_worker_comes_back() -> None:
    # One 2 GB string: over the limit at once, so the time limit never comes first on a busy machine.
    with pytest.raises(jqexpr.JqLimit, match="memory limit of 1024 MiB"):
        jqexpr.run('"x" * 2000000000', None)
    assert jqexpr.run(".", 3) == [3]


def test_side_channels_reach_nobody(capfd: pytest.CaptureFixture[str]) -> None:
    assert jqexpr.run('"::error::forged" | debug | stderr', None) == ["::error::forged"]
    captured = capfd.readouterr()
    assert "forged" not in captured.out + captured.err


def test_the_worker_is_not_this_process_and_has_no_environment() -> None:
    jqexpr.run(".", None)
    process = jqexpr._WORKER.process
    assert process is not None and process.pid != os.getpid()
    environ = Path(f"/proc/{process.pid}/environ").read_bytes()
    assert environ == b""


@pytest.mark.parametrize(
    ("expression", "problems"),
    [
        ("$ENV.HOME", ["$ENV: reads the process environment"]),
        (".a | env.PATH", ["env: reads the process environment"]),
        ('"\\(env)"', ["env: reads the process environment"]),
        ('import "x" as $d; $d', ["import: loads a module or data file"]),
        ("[inputs]", ["inputs: reads further inputs"]),
        ("$__loc__.line", ["$__loc__: reads its own source location"]),
        (". | debug", ["debug: writes to a side channel (stderr)"]),
        ('"x" | halt_error(5)', ["halt_error: stops the jq program and writes to stderr"]),
        ("input_filename", ["input_filename: reads the input's file name"]),
        # not uses: a field, an object key, a string, the definition's own function
        (".env.input", []),
        ("{env: 1, debug: 2}", []),
        ('"$ENV env import"', []),
        ("def env: 1; env", []),
        ("# env\n.a", []),
    ],
)
def test_hermetic_problems(expression: str, problems: list[str]) -> None:
    assert jqexpr.hermetic_problems(expression) == problems


@pytest.mark.parametrize(
    ("expression", "paths"),
    [
        (".x | @json | fromjson", [("x",)]),
        ('@sh "echo \\(.spec.a)"', [("spec", "a")]),
        ('"\\(.metadata.name)-\\(.spec.b)"', [("metadata", "name"), ("spec", "b")]),
        ('.a."b\\(.c)"', [("a",), ("c",)]),
        ("(" * 40 + ".a" + ")" * 40, [("a",)]),
        (".a ?// .b", [("a",), ("b",)]),
    ],
)
def test_path_analysis_reads_formats_interpolation_and_nesting(
    expression: str, paths: list[tuple[str, ...]]
) -> None:
    assert leaf_paths(expression) == sorted(paths)


@pytest.mark.parametrize(
    "expression", ["(" * 3000 + "." + ")" * 3000, '"\\(' * 100 + "." + ')"' * 100, ".a | `"]
)
def test_path_analysis_says_not_analysed_instead_of_crashing(expression: str) -> None:
    with pytest.raises(NotAnalysed):
        leaf_paths(expression)
