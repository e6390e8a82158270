"""The GitHub workflows: the nightly matrix as the workflow computes it, the PR gate, the reusable
workflow, the compatibility table and the JUnit report the jobs upload."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.errors import UserError
from conformance.report import ci
from conformance.report import formats as report
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as True
    return document


def versions_file() -> dict[str, Any]:
    """Read independently of conformance.versions, so a bug there cannot hide here."""
    raw: dict[str, Any] = yaml.safe_load((ROOT / "conformance" / "versions.yaml").read_text())
    return raw


def test_nightly_matrix_as_the_workflow_computes_it_equals_the_versions_file(tmp_path: Path) -> None:
    nightly = workflow("nightly.yaml")
    (step,) = [s for s in nightly["jobs"]["matrix"]["steps"] if s.get("id") == "matrix"]
    output = tmp_path / "github_output"
    output.touch()
    env = dict(
        os.environ, GITHUB_OUTPUT=str(output), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, check=True)
    (line,) = output.read_text().splitlines()
    name, _, value = line.partition("=")
    assert (
        name == "matrix"
        and nightly["jobs"]["matrix"]["outputs"]["matrix"] == "${{ steps.matrix.outputs.matrix }}"
    )
    computed = {(row["kuberay"], row["node_image"]) for row in json.loads(value)["include"]}
    pinned = versions_file()
    expected = {(k, image) for k in pinned["kuberay"]["versions"] for image in pinned["kind"]["node_images"]}
    assert computed == expected
    assert (
        len(expected) == len(pinned["kuberay"]["versions"]) * 2
    )  # every KubeRay version x two Kubernetes versions

    job = nightly["jobs"]["conformance"]
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.matrix.outputs.matrix) }}"
    assert job["uses"] == "./.github/workflows/conformance.yaml"
    assert job["with"]["kuberay-version"] == "${{ matrix.kuberay }}"
    assert job["with"]["node-image"] == "${{ matrix.node_image }}"
    assert "schedule" in nightly["on"]


def test_no_pinned_version_is_written_into_a_workflow() -> None:
    pinned = versions_file()
    values = [*pinned["kuberay"]["versions"], *pinned["kind"]["node_images"]]
    values += [v["chart"] for v in pinned["kuberay"]["versions"].values()]
    values += [t["version"] for t in pinned["tools"].values()]
    for path in WORKFLOWS.glob("*.yaml"):
        text = path.read_text()
        assert not [v for v in values if str(v) in text], path.name


def test_the_pr_gate_runs_on_definition_fixture_and_harness_changes() -> None:
    gate = workflow("definitions.yaml")
    # a change to the harness's build and CI can break the gate as surely as a definition
    assert sorted(gate["on"]["pull_request"]["paths"]) == [
        ".ci/**",
        ".github/**",
        ".go-version",
        "Makefile",
        "conformance/**",
        "definitions/**",
        "fixtures/**",
        "pyproject.toml",
        "scripts/**",
        "tox.ini",
    ]
    assert gate["jobs"]["conformance"]["uses"] == "./.github/workflows/conformance.yaml"
    unit_steps = " ".join(s.get("run", "") for s in gate["jobs"]["unit"]["steps"])
    assert "make lint typecheck unit" in unit_steps


def test_the_pr_gate_runs_static_and_replay_always_and_the_live_leg_only_for_the_harness() -> None:
    gate = workflow("definitions.yaml")
    unit = gate["jobs"]["unit"]
    runs = [s.get("run", "") for s in unit["steps"]]
    assert "make check-static check-replay" in runs  # static and replay of every pinned version's corpus
    (checkout,) = [s for s in unit["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkout["with"]["fetch-depth"] == 0  # the base commit, for the changed files
    assert unit["outputs"]["live"] == "${{ steps.changes.outputs.live }}"
    (changes,) = [s for s in unit["steps"] if s.get("id") == "changes"]
    assert changes["env"]["BASE_SHA"] == "${{ github.event.pull_request.base.sha }}"
    assert gate["jobs"]["conformance"]["if"] == "needs.unit.outputs.live == 'true'"


def _git(repo: Path, *argv: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *argv],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize(
    ("changed", "live"),
    [
        (["definitions/rayjob.yaml", "definitions/upstream/rayjob.yaml", "README.md"], "false"),
        (["conformance/corpus/v/corpus.json", "conformance/tests/unit/test_x.py", "docs/a.md"], "false"),
        (["definitions/rayjob.yaml", "conformance/live/scenarios/rayjob.py"], "true"),
        (["fixtures/rayjob.yaml"], "true"),
        (["conformance/claims/live.py"], "true"),
        ([".github/workflows/nightly.yaml"], "true"),
        (["Makefile"], "true"),
        (None, "true"),  # the base commit is unknown: nothing is known, the live leg runs
    ],
)
def test_the_pr_gate_decides_the_live_leg_as_its_step_computes_it(
    tmp_path: Path, changed: list[str] | None, live: str
) -> None:
    """The workflow's own step, run in a repository where a pull request changed ``changed``."""
    (step,) = [s for s in workflow("definitions.yaml")["jobs"]["unit"]["steps"] if s.get("id") == "changes"]
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "base.txt").write_text("base\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    for name in changed or ["definitions/x.yaml"]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("changed\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "change")
    (repo / ".venv" / "bin").mkdir(parents=True)
    (repo / ".venv" / "bin" / "karta-conformance").symlink_to(
        Path(sys.executable).parent / "karta-conformance"
    )
    output = tmp_path / "github_output"
    output.touch()
    env = dict(os.environ, GITHUB_OUTPUT=str(output), BASE_SHA=base if changed is not None else "0" * 40)
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, check=True, capture_output=True)
    assert output.read_text().splitlines() == [f"live={live}"]


def test_the_nightly_refreshes_the_corpus_of_every_pinned_version_and_fails_on_drift(tmp_path: Path) -> None:
    nightly = workflow("nightly.yaml")
    (step,) = [s for s in nightly["jobs"]["matrix"]["steps"] if s.get("id") == "versions"]
    output = tmp_path / "github_output"
    output.touch()
    env = dict(
        os.environ, GITHUB_OUTPUT=str(output), PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    )
    subprocess.run(["bash", "-e", "-c", step["run"]], cwd=ROOT, env=env, check=True)
    (line,) = output.read_text().splitlines()
    name, _, value = line.partition("=")
    assert name == "versions" and json.loads(value) == list(versions_file()["kuberay"]["versions"])
    assert nightly["jobs"]["matrix"]["outputs"]["versions"] == "${{ steps.versions.outputs.versions }}"
    job = nightly["jobs"]["corpus"]
    assert job["strategy"]["matrix"]["kuberay"] == "${{ fromJSON(needs.matrix.outputs.versions) }}"
    assert job["strategy"]["fail-fast"] is False and job["env"]["KUBERAY_VERSION"] == "${{ matrix.kuberay }}"
    scripts = [s.get("run", "") for s in job["steps"]]
    (record,) = [r for r in scripts if "corpus record" in r]
    # the backend the committed corpus is recorded on, into a folder of its own
    assert '--kuberay-version "$KUBERAY_VERSION" --cluster local' in record and "--out fresh" in record
    (compare,) = [r for r in scripts if "corpus diff" in r]
    assert compare.endswith('corpus diff "conformance/corpus/$KUBERAY_VERSION" "fresh/$KUBERAY_VERSION"')
    assert scripts.index(record) < scripts.index(compare)
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and "fresh" in upload["with"]["path"]


def test_make_check_replay_replays_every_pinned_version(tmp_path: Path) -> None:
    (argv,) = recorded_make(tmp_path, [], target="check-replay")
    assert argv == [
        "check", "--replay", "definitions/", "--ungated", "definitions/upstream/", "--kuberay-version", "all",
    ]  # fmt: skip
    (argv,) = recorded_make(tmp_path / "one", ["KUBERAY_VERSION=v1.5.1"], target="check-replay")
    assert argv[-2:] == ["--kuberay-version", "v1.5.1"]


def test_the_reusable_workflow_takes_a_definitions_path_and_fails_on_violations() -> None:
    reusable = workflow("conformance.yaml")
    inputs = reusable["on"]["workflow_call"]["inputs"]
    assert {"definitions-path", "kuberay-version", "node-image", "harness-repository"} <= set(inputs)
    job = reusable["jobs"]["conformance"]
    assert job["env"]["DEFINITIONS"].endswith("/subject/${{ inputs.definitions-path }}")
    (run,) = [s["run"] for s in job["steps"] if "conformance CLUSTER=kind" in s.get("run", "")]
    # the inputs reach make through the job's env only (make expands command-line values)
    assert run == "make -C harness conformance CLUSTER=kind" and "continue-on-error" not in json.dumps(job)
    assert {"DEFINITIONS", "ARTIFACTS", "KUBERAY_VERSION", "KIND_IMAGE", "MODE", "UPSTREAM"} <= set(
        job["env"]
    )
    # one conformance step per mode, chosen by the input; the caller can leave upstream's kartas out
    by_mode = {s["if"]: s["run"] for s in job["steps"] if s.get("if", "").startswith("inputs.mode == ")}
    assert by_mode == {
        "inputs.mode == 'live'": "make -C harness conformance CLUSTER=kind",
        "inputs.mode == 'replay'": "make -C harness check-static check-replay",
        "inputs.mode == 'static'": "make -C harness check-static",
    }
    assert inputs["mode"]["default"] == "live" and inputs["upstream-kartas"]["type"] == "boolean"
    assert job["env"]["UPSTREAM"] == "${{ inputs.upstream-kartas && 'definitions/upstream/' || '' }}"
    # the harness is the ref the caller pinned (the OIDC token's job_workflow_sha), not the default branch
    (harness,) = [s for s in job["steps"] if s.get("id") == "harness"]
    assert (
        "job_workflow_sha" in harness["run"]
        and "::warning::the harness is taken from its default branch" in harness["run"]
    )
    checkout = next(s for s in job["steps"] if s.get("name") == "Check out the harness")
    assert checkout["with"]["ref"] == "${{ steps.harness.outputs.ref }}"
    upload = next(s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"


def test_make_conformance_with_kind_shows_the_kind_path(tmp_path: Path) -> None:
    argv = recorded_make(tmp_path, ["CLUSTER=kind", "KUBERAY_VERSION=v1.5.1", "KIND_IMAGE=v1.33"])
    live = next(a for a in argv if a[:2] == ["check", "--live"])
    assert live[:9] == [
        "check", "--live", "definitions/", "--ungated", "definitions/upstream/",
        "--cluster", "kind", "--kuberay-version", "v1.5.1",
    ]  # fmt: skip
    assert live[live.index("--kind-image") + 1] == "v1.33"
    assert live[live.index("--junit") + 1] == "artifacts/live-junit.xml"


def recorded_make(
    tmp_path: Path, arguments: list[str], env: dict[str, str] | None = None, target: str = "conformance"
) -> list[list[str]]:
    """Run ``make <target>`` for real with a karta-conformance that records its argv (one JSON list a call)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "argv.jsonl"
    recorder = bin_dir / "karta-conformance"
    recorder.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"with open({str(log)!r}, 'a') as out:\n    out.write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    recorder.chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if k not in ("DEFINITIONS", "ARTIFACTS", "MAKEFLAGS")}
    completed = subprocess.run(
        ["make", "--no-print-directory", target, f"VENV={tmp_path / 'venv'}", *arguments],
        cwd=ROOT,
        env={**environment, **(env or {})},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return [json.loads(line) for line in log.read_text().splitlines()]


def _report(tmp_path: Path, name: str, kuberay: str, kubernetes: str, outcomes: dict[str, list[str]]) -> Path:
    verdicts = [
        {"definition": definition, "outcome": outcome}
        for definition, items in outcomes.items()
        for outcome in items
    ]
    path = tmp_path / name / "live-report.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps({"meta": {"kuberay": kuberay, "kubernetes": kubernetes}, "verdicts": verdicts})
    )
    return path


def test_compatibility_table(tmp_path: Path) -> None:
    reports = [
        _report(tmp_path, "a", "v1.6.2", "v1.34.0", {"rayservice": ["pass", "pass"], "rayjob": ["pass"]}),
        _report(tmp_path, "b", "v1.5.1", "v1.34.0", {"rayservice": ["pass", "fail", "error"], "rayjob": ["unverified"]}),
    ]  # fmt: skip
    table = ci.compatibility_table(reports).splitlines()
    header = table[2]
    assert header.startswith("| definition | v1.6.2 / k8s v1.34.0 | v1.5.1 / k8s v1.34.0 |")
    assert "v1.3.2 / k8s v1.33.4" in header  # a matrix job without a report is a column that says so
    assert table[4].startswith("| rayjob | ✅ 1 passed | ⚠️ 1 unverified | no report |")
    assert table[5].startswith("| rayservice | ✅ 2 passed | ❌ 2 of 3 failed | no report |")
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(UserError, match=r"broken\.json: not a karta-conformance JSON report"):
        ci.compatibility_table([broken])


def test_junit_report(tmp_path: Path) -> None:
    def verdict(outcome: Outcome, claim: str) -> Verdict:
        return Verdict(
            "rayservice",
            "definitions/rayservice.yaml",
            claim,
            "childComponents[head]",
            "ready",
            outcome,
            "why",
        )

    path = tmp_path / "junit.xml"
    report.write_junit(
        path,
        [
            verdict(Outcome.PASS, "gang"),
            verdict(Outcome.FAIL, "membership"),
            verdict(Outcome.UNVERIFIED, "schema"),
        ],
        "karta-conformance live",
    )
    (suite,) = ET.parse(path).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "3",
        "1",
        "0",
        "1",
    )
    failure = suite.find("testcase[@classname='rayservice.membership']/failure")
    assert (
        failure is not None
        and failure.get("message") == "definitions/rayservice.yaml: childComponents[head]: why"
    )


@pytest.mark.parametrize(("required", "code"), [("", 0), ("1", 1)])
def test_make_test_without_docker_says_so_in_one_line_and_ci_requires_the_kind_leg(
    tmp_path: Path, required: str, code: int
) -> None:
    """No Docker engine: `make test` leaves the kind leg out with one line (a laptop runs the rest);
    with REQUIRE_ALL_LEGS (what .ci/run sets) the missing leg fails the run."""
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "docker").write_text("#!/bin/sh\nexit 1\n")
    (stub / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}", "TEST_CLUSTER": "kind"}
    env.pop("MAKEFLAGS", None)
    done = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-o",
            "lint",
            "-o",
            "typecheck",
            "test",
            f"REQUIRE_ALL_LEGS={required}",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == (2 if code else 0), (
        done.stdout + done.stderr
    )  # make reports a failed recipe as 2
    assert len(lines) == 1 and lines[0].startswith(
        "== make test: no Docker engine answers (docker info): the kind leg "
    )
    assert ("REQUIRE_ALL_LEGS asks for every leg" in lines[0]) == bool(required)
    assert "make test REQUIRE_ALL_LEGS=1" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize(
    ("env", "ref", "said"),
    [
        ({"HARNESS_REF": "v1.2.0"}, "v1.2.0", ""),  # pinned by the caller's input
        ({}, "abc123", ""),  # no harness repository: the calling repository is the harness, at its commit
        (
            {"HARNESS_REPOSITORY": "o/karta-conformance"},
            "",
            "::warning::the harness is taken from its default branch",
        ),
        ({"MODE": "nightly"}, None, "::error::mode is static, replay or live, not 'nightly'"),
    ],
)
def test_the_reusable_workflow_finds_the_harness_ref_and_refuses_an_unknown_mode(
    tmp_path: Path, env: dict[str, str], ref: str | None, said: str
) -> None:
    (step,) = [
        s for s in workflow("conformance.yaml")["jobs"]["conformance"]["steps"] if s.get("id") == "harness"
    ]
    output = tmp_path / "output"
    environment = {
        "PATH": os.environ["PATH"],
        "GITHUB_OUTPUT": str(output),
        "GITHUB_SHA": "abc123",
        "MODE": "replay",
        "HARNESS_REF": "",
        "HARNESS_REPOSITORY": "",
        **env,
    }  # no ACTIONS_ID_TOKEN_REQUEST_URL: the caller granted no id-token
    done = subprocess.run(["bash", "-e", "-c", step["run"]], env=environment, capture_output=True, text=True)
    assert said in done.stdout
    if ref is None:
        assert done.returncode == 2 and not output.exists()
    else:
        assert done.returncode == 0 and output.read_text() == f"ref={ref}\n"


def test_make_venv_prints_nothing_but_errors() -> None:
    """The venv recipe echoes no command and pip says only errors (-qq: the build backend's warnings too)."""
    text = (ROOT / "Makefile").read_text()
    recipe = text.split("$(BIN)/karta-conformance: pyproject.toml\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert recipe and all(line.startswith("\t@") for line in recipe), recipe
    assert [line for line in recipe if "pip install" in line and " -qq " not in line] == []
