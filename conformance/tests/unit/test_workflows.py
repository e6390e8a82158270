"""The workflows are hardened: read-only tokens, no privileged triggers, actions pinned by commit,
no credentials left in checkouts, Go pinned, no `${{ }}` inside scripts, and make given its values
so that none can inject shell (or make) syntax.

Parsed from .github/workflows/*.yaml as they are committed (actionlint checks them too, in
`make lint`); each assertion names the workflow, job and step it is about."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conformance.tests.unit.test_ci import recorded_make

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
PINNED_USES = re.compile(r"^\s*(?:- )?uses: ([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+\s*$")
# Triggers that run with a write token or secrets on behalf of someone else's code.
PRIVILEGED_TRIGGERS = {"pull_request_target", "workflow_run", "issue_comment"}


def load(path: Path) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as True
    return document


def steps() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in WORKFLOWS:
        for job_name, job in load(path)["jobs"].items():
            for index, step in enumerate(job.get("steps", [])):
                yield (
                    f"{path.name} {job_name} step {index + 1} ({step.get('name') or step.get('uses')})",
                    step,
                )


def test_there_are_workflows_to_check() -> None:
    assert {p.name for p in WORKFLOWS} == {"conformance.yaml", "definitions.yaml", "nightly.yaml"}
    assert sum(1 for _ in steps()) >= 15


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_workflow_sets_read_only_permissions_and_no_privileged_trigger(path: Path) -> None:
    document = load(path)
    assert document.get("permissions") == {"contents": "read"}, path.name
    for name, job in document["jobs"].items():
        granted = job.get("permissions", {})
        assert isinstance(granted, dict) and all(v in ("read", "none") for v in granted.values()), name
    triggers = document["on"] if isinstance(document["on"], dict) else {document["on"]: None}
    assert not PRIVILEGED_TRIGGERS & set(triggers), path.name
    assert "secrets: inherit" not in path.read_text()


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_tag_in_a_comment(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(- )?uses:", line)]
    assert lines, path.name
    for line in lines:
        target = line.split("uses:", 1)[1].strip()
        if target.startswith("./"):  # a workflow of this repository, at the caller's commit
            continue
        assert PINNED_USES.match(line), f"{path.name}: {line.strip()}"


def test_every_checkout_drops_its_credentials() -> None:
    checkouts = [(where, s) for where, s in steps() if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert (
        len(checkouts) == 6
    )  # the PR gate, the reusable workflow (2), the nightly (3: its corpus refresh too)
    for where, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, where


def test_go_is_pinned_by_the_go_version_file() -> None:
    version = (ROOT / ".go-version").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    setups = [(where, s) for where, s in steps() if str(s.get("uses", "")).startswith("actions/setup-go@")]
    assert len(setups) == 3  # the PR gate, the reusable workflow, the nightly's corpus refresh
    for where, step in setups:
        given = step["with"]
        assert "go-version" not in given and given["go-version-file"].endswith(".go-version"), where
    pythons = [s for _, s in steps() if str(s.get("uses", "")).startswith("actions/setup-python@")]
    assert pythons and all(
        s["with"]["python-version"] == "3.11" for s in pythons
    )  # what the Ray locks target


def test_no_expression_is_interpolated_into_a_script() -> None:
    """Event fields, inputs and step outputs reach scripts as environment variables, never as text."""
    scripts = [(where, s["run"]) for where, s in steps() if "run" in s]
    assert len(scripts) >= 8
    for where, script in scripts:
        assert "${{" not in script, where


def test_the_step_summary_gets_only_constant_text_from_scripts() -> None:
    """What a definition yields reaches $GITHUB_STEP_SUMMARY only through the harness (neutral escaping)."""
    for where, step in steps():
        for line in step.get("run", "").splitlines():
            if "GITHUB_STEP_SUMMARY" in line:
                assert "$" not in line.replace('"$GITHUB_STEP_SUMMARY"', ""), where


def test_every_job_has_a_timeout() -> None:
    for path in WORKFLOWS:
        for name, job in load(path)["jobs"].items():
            if "uses" not in job:  # a job calling a reusable workflow takes the callee's timeout
                assert isinstance(job.get("timeout-minutes"), int), f"{path.name} {name}"


def test_make_is_never_given_values_on_its_command_line() -> None:
    for where, step in steps():
        for line in step.get("run", "").splitlines():
            if re.search(r"\bmake\b", line):
                assert not re.search(r"[A-Z_]+=\S*\$", line), where


def test_values_given_to_make_reach_the_harness_as_one_argument_each(tmp_path: Path) -> None:
    """The values CI gives make (the reusable workflow's inputs, through its env) stay text."""
    hostile = 'my defs/$(shell touch PWNED1) `touch PWNED2` "q" $(touch PWNED3); touch PWNED4'
    env = {
        "DEFINITIONS": hostile,
        "ARTIFACTS": f"{tmp_path}/out dir",
        "KUBERAY_VERSION": "v1.5.1; touch PWNED5",
        "KIND_IMAGE": "$(shell touch PWNED6)",
        "PARALLEL": "2 $(shell touch PWNED7); touch PWNED8",
        "UPSTREAM": "",
    }
    argv = recorded_make(tmp_path, ["CLUSTER=kind"], env=env)
    static = next(a for a in argv if a[:2] == ["check", "--static"])
    live = next(a for a in argv if a[:2] == ["check", "--live"])
    assert static[2] == hostile and live[2] == hostile and "--ungated" not in live
    assert live[live.index("--kuberay-version") + 1] == "v1.5.1; touch PWNED5"
    assert live[live.index("--kind-image") + 1] == "$(shell touch PWNED6)"
    assert live[live.index("--parallel") + 1] == "2 $(shell touch PWNED7); touch PWNED8"
    assert live[live.index("--artifacts") + 1] == f"{tmp_path}/out dir"
    assert live[live.index("--json") + 1] == f"{tmp_path}/out dir/live-report.json"
    assert not list(ROOT.glob("PWNED*")) and not list(tmp_path.glob("PWNED*"))
