"""The pytest plugin (``conformance/pytest_plugin.py``, entry point ``pytest11``): ``pytest --karta-definitions
PATH`` collects one item per definition x claim and fails an item as the CLI's gate fails its verdicts; without
the option it adds nothing.

Each test runs pytest inside pytest (``pytester``) in a folder of its own. Live mode is tested without a
cluster: the live session is replaced, and what the plugin builds is compared with what ``check --live`` builds.
"""

from __future__ import annotations

import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conformance import cli
from conformance.claims import names
from conformance.definition import load_definitions
from conformance.errors import UserError
from conformance.live import session as live_session
from conformance.pytest_plugin import claim_ids, mode_claims
from conformance.tests.helpers import DEFINITIONS, REPO, broken, component
from conformance.verdict import Outcome, Verdict, verdict_for

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.static

DATA = Path(__file__).resolve().parents[1] / "data"
STATIC = mode_claims("static")
HOME = os.environ.get("HOME")  # read before pytester points HOME at its folder


@pytest.fixture(autouse=True)
def _home(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's HOME in pytest inside pytest: the harness's cache (KubeRay CRDs, Go modules) is there."""
    if HOME is not None:
        monkeypatch.setenv("HOME", HOME)


def _definitions(pytester: pytest.Pytester, *kinds: str) -> Path:
    folder = pytester.path / "definitions"
    folder.mkdir(exist_ok=True)
    for kind in kinds:
        shutil.copy(DEFINITIONS / f"{kind}.yaml", folder / f"{kind}.yaml")
    return folder


# In pytest inside pytest, the harness is imported already: pytest cannot rewrite the plugin's package again.
QUIET = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*QUIET, *args)


def _collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line]


def _problem(result: pytest.RunResult) -> list[str]:
    """What a usage error printed: its lines, without blanks."""
    return [line for line in result.stderr.lines if line.strip()]


def test_every_claim_of_names_py_is_judged_by_a_mode_or_is_about_the_whole_definition() -> None:
    # A claim added to names.py must get items (a mode judging it) or be about the whole definition on purpose.
    judged = {c for mode in ("static", "snapshots", "flows", "live") for c in mode_claims(mode)}
    whole = {names.EVALUATION, names.FIXTURES, names.ORACLE}  # not evaluated; --oracle is the CLI's only
    assert set(claim_ids()) - judged == whole
    assert names.STATUS_FRAMES in mode_claims("flows") and names.STATUS_FRAMES in mode_claims("live")
    assert names.SCHEMA in STATIC and names.SCHEMA not in mode_claims("live")


def test_one_item_per_definition_and_claim(pytester: pytest.Pytester) -> None:
    _definitions(pytester, "rayjob", "raycluster")
    result = _run(pytester, "--karta-definitions", "definitions/", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert _collected(result) == [
        f"definitions/{kind}.yaml::{claim}" for kind in ("raycluster", "rayjob") for claim in STATIC
    ]


def test_shipped_definitions_pass_with_the_phases_judged_in_the_junit_report(
    pytester: pytest.Pytester,
) -> None:
    _definitions(pytester, "rayjob", "raycluster")
    result = _run(pytester, "--karta-definitions", "definitions", "--junitxml", "karta.xml")
    result.assert_outcomes(passed=2 * len(STATIC))
    cases = ET.parse(pytester.path / "karta.xml").getroot().iter("testcase")
    by_file: dict[str, list[str]] = {}
    properties: dict[tuple[str, str], dict[str, str]] = {}
    for case in cases:
        by_file.setdefault(case.attrib["classname"], []).append(case.attrib["name"])
        properties[case.attrib["classname"], case.attrib["name"]] = {
            p.attrib["name"]: p.attrib["value"] for p in case.iter("property")
        }
    assert by_file == {"definitions.raycluster.yaml": STATIC, "definitions.rayjob.yaml": STATIC}
    schema = properties["definitions.rayjob.yaml", "schema"]
    assert schema["karta_definition"] == "rayjob"
    assert "static:kuberay-v1.6.2" in schema["karta_phases"].split(", ")
    assert schema["karta_verdicts"].endswith("PASS")
    assert (
        properties["definitions.rayjob.yaml", "paths-resolve"]["karta_phases"] == "static:conformance-rayjob"
    )


def _min_reads_max(document: dict[str, Any]) -> None:
    # the worker's minimum read from maxReplicas: min > replicas on the fixture, a `scale` FAIL
    scale = component(document, "worker")["scaleDefinition"]
    scale["minReplicasPath"] = scale["minReplicasPath"].replace(".minReplicas", ".maxReplicas")


def test_a_wrong_definition_fails_its_claim_naming_the_failing_verdict(pytester: pytest.Pytester) -> None:
    folder = _definitions(pytester, "raycluster")
    broken(folder, "rayjob", _min_reads_max)
    result = _run(pytester, "--karta-definitions", "definitions")
    result.assert_outcomes(passed=2 * len(STATIC) - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "1 failing verdict(s) of rayjob scale:",
            "FAIL       definitions/rayjob.yaml: childComponents[[]worker[]].scaleDefinition: expected minReplicas "
            "<= replicas <= maxReplicas * [[]static:conformance-rayjob[]]",
            "FAILED definitions/rayjob.yaml::scale - Failed: 1 failing verdict(s) *",
        ]
    )


def test_a_definition_not_evaluated_fails_every_claim_with_the_reason(pytester: pytest.Pytester) -> None:
    folder = pytester.path / "definitions"
    folder.mkdir()
    broken(folder, "rayjob", lambda d: component(d, "head").update(ownerRef="nobody"))
    result = _run(pytester, "--karta-definitions", "definitions")
    # every claim fails: `valid` with its FAIL, each one with the reason the definition was not evaluated
    result.assert_outcomes(failed=len(STATIC))
    result.stdout.fnmatch_lines(
        ["ERROR *: not evaluated: the definition breaks 1 Karta validation rule(s) * (claim evaluation)"]
    )


def test_without_the_option_it_adds_nothing(pytester: pytest.Pytester) -> None:
    _definitions(pytester, "rayjob")
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    with_plugin = _run(pytester, "--collect-only", "-q")
    without = _run(pytester, "--collect-only", "-q", "-p", "no:karta_conformance")
    assert _collected(with_plugin) == _collected(without) == ["test_own.py::test_own"]
    (pytester.path / "test_own.py").unlink()
    assert _run(pytester).ret == pytest.ExitCode.NO_TESTS_COLLECTED  # pytest's exit 5 is untouched


def test_the_fixtures_serve_a_repository_s_own_tests(pytester: pytest.Pytester) -> None:
    _definitions(pytester, "rayjob")
    pytester.makepyfile(
        test_own="""
        def test_own(karta_definitions, karta_result):
            assert [d.name for d in karta_definitions] == ["rayjob"]
            assert karta_result.mode == "static"
            assert {v.outcome.value for v in karta_result.of("rayjob", "schema")} == {"pass"}
        """
    )
    _run(pytester, "--karta-definitions", "definitions").assert_outcomes(passed=len(STATIC) + 1)
    alone = _run(pytester, "test_own.py")  # without the option the fixtures say what they need
    alone.assert_outcomes(errors=1)
    alone.stdout.fnmatch_lines(
        ["*karta_definitions needs pytest --karta-definitions PATH (karta-conformance)"]
    )


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (
            ["--karta-mode", "bogus"],
            "--karta-mode: invalid choice: 'bogus' (choose from static, snapshots, flows, live)",
        ),
        (["--karta-cluster", "nowhere"], "argument --karta-cluster: invalid choice: 'nowhere' *"),
        (
            ["--karta-kuberay-version", "v0.0.1"],
            "--karta-kuberay-version: unknown KubeRay version 'v0.0.1'; *",
        ),
        (["--karta-mode", "flows"], "--karta-mode flows needs --karta-recorded DIR *"),
        (["--karta-recorded", "flows"], "--karta-recorded is for --karta-mode snapshots or flows"),
        (
            ["--karta-mode", "live", "--karta-cluster", "existing"],
            "--karta-cluster existing needs --karta-kubeconfig PATH",
        ),
    ],
)
def test_a_bad_option_is_one_line_and_a_usage_error(
    pytester: pytest.Pytester, options: list[str], line: str
) -> None:
    _definitions(pytester, "rayjob")
    result = _run(pytester, "--karta-definitions", "definitions", *options)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert len(_problem(result)) == 1, result.stderr.str()
    result.stderr.fnmatch_lines([f"ERROR: karta-conformance: {line}"])


def test_a_folder_without_definitions_is_one_line_not_nothing_collected(pytester: pytest.Pytester) -> None:
    (pytester.path / "definitions").mkdir()
    result = _run(pytester, "--karta-definitions", "definitions")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert _problem(result) == [
        "ERROR: karta-conformance: definitions: no .yaml or .yml files in this folder"
    ]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_recorded_flows_and_snapshots_are_judged_without_a_cluster(pytester: pytest.Pytester) -> None:
    _definitions(pytester, "raycluster")
    shutil.copytree(DATA / "flows", pytester.path / "flows")
    flows = _run(
        pytester,
        "--karta-definitions",
        "definitions",
        "--karta-mode",
        "flows",
        "--karta-recorded",
        "flows",
        "-v",
    )
    flows.assert_outcomes(passed=len(mode_claims("flows")))
    flows.stdout.fnmatch_lines(["definitions/raycluster.yaml::status-frames PASSED*"])
    (pytester.path / "snapshots").mkdir()
    shutil.copy(DATA / "gcs-fault-tolerance" / "redis-cleanup.json", pytester.path / "snapshots" / "01.json")
    snapshots = _run(
        pytester,
        "--karta-definitions",
        "definitions",
        "--karta-mode",
        "snapshots",
        "--karta-recorded",
        "snapshots",
    )
    snapshots.assert_outcomes(passed=len(mode_claims("snapshots")))


# ---------------------------------------------------------------------------------------------------------------
# Live mode, without a cluster: the session is replaced by one that records what is done to it.


class _Session:
    """Stands in for a LiveSession: records start, run and stop; its run gives the verdicts it is handed."""

    def __init__(self, verdicts: list[Verdict], interrupt: bool = False) -> None:
        self.verdicts = verdicts
        self.interrupt = interrupt
        self.calls: list[str] = []
        self.header = "backend fake"

    def select(self, features: str | None) -> None:
        self.calls.append(f"select {features}")

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def run(self, definitions: list[Any], selected: object = None) -> Any:
        self.calls.append(f"run {','.join(d.name for d in definitions)}")
        if self.interrupt:
            raise KeyboardInterrupt
        return SimpleNamespace(verdicts=self.verdicts, header=self.header, meta={"mode": "live"})


def _built(monkeypatch: pytest.MonkeyPatch, session: _Session | None) -> list[tuple[Any, ...]]:
    """Every LiveSession.for_cluster call (arguments, keywords); it gives ``session``, or refuses (exit 2)."""
    calls: list[tuple[Any, ...]] = []

    def for_cluster(*args: Any, **kwargs: Any) -> _Session:
        calls.append((args, kwargs))
        if session is None:
            raise UserError("refused here")
        return session

    monkeypatch.setattr(live_session.LiveSession, "for_cluster", for_cluster)
    return calls


def test_live_mode_builds_the_session_as_check_live_does(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _definitions(pytester, "rayjob")
    monkeypatch.chdir(pytester.path)
    by_cli = _built(monkeypatch, None)
    options = ["--cluster", "local", "--kuberay-version", "v1.6.2"]
    assert cli.main(["check", "--live", *options, "definitions"]) == 2
    by_plugin = _built(monkeypatch, None)
    result = _run(
        pytester,
        "--karta-definitions",
        str(folder),
        "--karta-mode",
        "live",
        "--karta-cluster",
        "local",
        "--karta-kuberay-version",
        "v1.6.2",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: karta-conformance: refused here"])
    assert by_plugin == by_cli
    ((args, kwargs),) = by_plugin
    assert args[:3] == ("local", "v1.6.2", None)
    assert kwargs["name"] == "karta" and kwargs["parallel"] is None  # the CLI's defaults


def test_live_mode_starts_judges_and_stops_the_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _definitions(pytester, "rayjob")
    (rayjob,) = load_definitions([DEFINITIONS / "rayjob.yaml"])
    verdicts = [
        verdict_for(rayjob, names.STATUS, "", "rayjob/running", Outcome.PASS, "running"),
        verdict_for(rayjob, names.GANG, "", "rayjob/created", Outcome.FAIL, "two pod groups"),
        verdict_for(rayjob, names.SCENARIO, "", "rayjob/succeeded", Outcome.UNVERIFIED, "kwok runs no Ray"),
    ]
    session = _Session(verdicts)
    built = _built(monkeypatch, session)
    result = _run(
        pytester, "--karta-definitions", "definitions", "--karta-mode", "live", "--karta-cluster", "local"
    )
    result.assert_outcomes(passed=len(mode_claims("live")) - 1, failed=1)
    result.stdout.fnmatch_lines(["FAIL       */rayjob.yaml: two pod groups [[]rayjob/created[]]"])
    assert built[0][0][0] == "local"
    assert session.calls == ["select None", "start", "run rayjob", "stop"]


def test_live_mode_stops_the_session_on_ctrl_c(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _definitions(pytester, "rayjob")
    session = _Session([], interrupt=True)
    _built(monkeypatch, session)
    result = pytester.runpytest(
        *QUIET, "--karta-definitions", "definitions", "--karta-mode", "live", no_reraise_ctrlc=True
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert session.calls == ["select None", "start", "run rayjob", "stop"]


def test_the_readme_names_the_plugin_s_options_as_the_code_does(pytester: pytest.Pytester) -> None:
    helped = set(re.findall(r"--karta-[a-z-]+", _run(pytester, "--help").stdout.str()))
    readme = set(re.findall(r"--karta-[a-z-]+", (REPO / "README.md").read_text()))
    assert readme - {"--karta-source"} == helped  # --karta-source: the CLI's own option
