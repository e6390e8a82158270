"""conformance/replay.py and `check --replay` / `corpus record|diff`: the committed corpus of every pinned
KubeRay version replays to the verdicts of the live run that recorded it, in seconds, without a cluster; a
broken definition fails on it; a pinned version without a corpus is UNVERIFIED; a corpus this harness does
not read is one line (exit 2); two recordings are compared readably."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import shutil
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from conformance import replay, versions
from conformance.cli import main
from conformance.definition import load_definitions
from conformance.live.scenarios import PhaseUnverified, ScenarioFailed
from conformance.live.session import LiveResult, LiveRun, LiveSession
from conformance.tests.helpers import DEFINITIONS, broken, component
from conformance.verdict import Outcome, Verdict

pytestmark = pytest.mark.unit

PINNED = list(versions.load().kuberay)
RECORDED = sorted(p.name for p in replay.SHIPPED.glob("*") if p.is_dir() and (p / replay.HEADER).is_file())
BUDGET = 60.0  # seconds: the whole replay of every pinned version, warm, on 2 cores (issue #26)


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One replay of definitions/ on every pinned version, timed, with every report written."""
    folder = tmp_path_factory.mktemp("replay")
    started = time.monotonic()
    code, out, err = run(
        [
            "check",
            "--replay",
            "--kuberay-version",
            "all",
            str(DEFINITIONS),
            "--json",
            str(folder / "report.json"),
            "--junit",
            str(folder / "junit.xml"),
            "--markdown",
            str(folder / "summary.md"),
        ]
    )
    seconds = time.monotonic() - started
    document = json.loads((folder / "report.json").read_text())
    return {"code": code, "out": out, "err": err, "seconds": seconds, "report": document, "folder": folder}


def test_a_corpus_is_committed_for_pinned_versions_only() -> None:
    assert RECORDED, f"no corpus in {replay.SHIPPED}"
    assert set(RECORDED) <= set(PINNED)


@pytest.mark.parametrize("version", RECORDED)
def test_the_replay_of_the_committed_corpus_gives_the_recorded_verdicts(
    version: str, replayed: dict[str, Any]
) -> None:
    corpus = replay.Corpus.load(replay.SHIPPED / version, version)
    assert corpus.header()["format"] == replay.FORMAT and corpus.kuberay_version == version
    names = {d.name for d in load_definitions([DEFINITIONS])}
    recorded = replay.replayable(v for v in corpus.verdicts if v.definition in names)
    assert recorded, "the corpus holds no verdict of definitions/"
    mine = [v for v in replayed["report"]["verdicts"] if v["phase"].startswith(f"{version}/")]
    got = replay.outcomes(_verdicts(mine), strip=f"{version}/")
    want = replay.outcomes(recorded)
    assert {k for k, _ in got} == {k for k, _ in want}, "the replay's verdicts are not the recorded ones"
    assert got == want, (
        f"outcomes differ: replay only {sorted(got - want)[:5]}, recorded only {sorted(want - got)[:5]}"
    )


def _verdicts(items: list[dict[str, Any]]) -> list[Verdict]:
    return [
        Verdict(
            v["definition"],
            v["source"],
            v["claim"],
            v["subject"],
            v["phase"],
            Outcome(v["outcome"]),
            v["message"],
        )
        for v in items
    ]


def test_the_replay_of_every_pinned_version_is_quick_and_reads_like_the_other_modes(
    replayed: dict[str, Any],
) -> None:
    print(
        f"replay of {len(RECORDED)} corpora (of {len(PINNED)} pinned versions): {replayed['seconds']:.1f} s"
    )
    assert replayed["seconds"] < BUDGET, f"{replayed['seconds']:.1f} s"
    assert replayed["code"] == 0, replayed["out"][-2000:] + replayed["err"][-2000:]
    lines = replayed["out"].rstrip().splitlines()
    assert lines[0].startswith("karta-conformance replay of the recorded corpus: KubeRay ")
    assert lines[-1] == f"{DEFINITIONS}: " + lines[-1].split(": ", 1)[1] and lines[-1].endswith("gate passes")
    assert replayed["report"]["meta"]["mode"] == "replay"
    assert replayed["report"]["gate"][0]["answer"] == "passes"
    phases = {v["phase"] for v in replayed["report"]["verdicts"]}
    assert all(p.split("/", 1)[0] in PINNED for p in phases), "every phase names its KubeRay version"
    assert "admission" not in {p.split("/", 1)[1] for p in phases}  # needs the API server: not replayed
    for version in RECORDED:
        assert f"[karta-conformance] replay: {version}: " in replayed["err"]
        assert any(line.startswith(f"frames: {version}: ") for line in lines)
    assert (replayed["folder"] / "junit.xml").read_text().startswith("<?xml")
    assert (
        "## karta-conformance replay of the recorded corpus"
        in (replayed["folder"] / "summary.md").read_text()
    )


def test_a_pinned_version_without_a_corpus_is_unverified_with_its_reason(
    tmp_path: Path, replayed: dict[str, Any]
) -> None:
    missing = [v for v in PINNED if v not in RECORDED]
    for version in missing:  # the shipped corpus, as the gate reads it
        said = [
            v
            for v in replayed["report"]["verdicts"]
            if v["phase"] == f"{version}/corpus" and v["outcome"] == "unverified"
        ]
        assert len(said) == len(load_definitions([DEFINITIONS]))
        assert all(f"no corpus recorded for {version}" in v["message"] for v in said)
    # a corpus folder holding one version: every other pinned one is reported, none skipped
    (tmp_path / RECORDED[0]).symlink_to(replay.SHIPPED / RECORDED[0])
    code, out, _ = run(["check", "--replay", "--corpus", str(tmp_path), str(DEFINITIONS / "rayjob.yaml")])
    assert code == 0, out[-2000:]
    for version in PINNED:
        assert (f"no corpus recorded for {version}" in out) == (version != RECORDED[0])
    assert "no corpus for " in out.splitlines()[0]
    assert "unverified here: gate passes" in out.splitlines()[-1]
    code, out, _ = run(
        ["check", "--replay", "--strict", "--corpus", str(tmp_path), str(DEFINITIONS / "rayjob.yaml")]
    )
    assert code == (1 if len(PINNED) > 1 else 0)


def test_a_definition_broken_on_purpose_fails_in_replay(tmp_path: Path) -> None:
    """The worker's replicas read from maxReplicas: the Pods counted live are not that many."""

    def replicas_from_max(document: dict[str, Any]) -> None:
        component(document, "worker")["scaleDefinition"]["replicasPath"] = (
            ".spec.rayClusterSpec.workerGroupSpecs[]? | (.maxReplicas // 0)"
        )

    path = broken(tmp_path, "rayjob", replicas_from_max)
    code, out, _ = run(["check", "--replay", "--kuberay-version", RECORDED[0], str(path)])
    assert code == 1, out[-2000:]
    failed = [line for line in out.splitlines() if line.startswith("FAIL ") and line.endswith("]")]
    assert failed and all(f"[{RECORDED[0]}/" in line for line in failed)
    assert any("childComponents[worker]" in line and "replicas" in line for line in failed), failed[:5]
    assert out.rstrip().splitlines()[-1].endswith("gate fails")


def _copy(tmp_path: Path, name: str = "copy") -> Path:
    target = tmp_path / name / RECORDED[0]
    shutil.copytree(replay.SHIPPED / RECORDED[0], target)
    return target


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"format": "karta-conformance/flow"}, "not a corpus (its corpus.json names no format"),
        (
            {"version": replay.VERSION + 1},
            f"corpus format version {replay.VERSION + 1}; this harness reads up to",
        ),
        ({"kuberay_version": "v0.0.1"}, "a corpus of KubeRay 'v0.0.1' in the folder of"),
    ],
)
def test_a_corpus_of_another_format_or_a_newer_version_is_refused_in_one_line(
    tmp_path: Path, change: dict[str, Any], said: str
) -> None:
    folder = _copy(tmp_path)
    header = json.loads((folder / replay.HEADER).read_text())
    (folder / replay.HEADER).write_text(json.dumps({**header, **change}))
    code, out, err = run(
        [
            "check",
            "--replay",
            "--corpus",
            str(folder.parent),
            "--kuberay-version",
            RECORDED[0],
            str(DEFINITIONS),
        ]
    )
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and said in err and "Traceback" not in err, err


def test_a_damaged_corpus_file_is_one_line(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / replay.SNAPSHOTS).write_bytes(
        gzip.compress(b'{"objects": {}, "served": [], "snapshots": [{}]}')
    )
    code, _, err = run(["check", "--replay", "--corpus", str(folder.parent), str(DEFINITIONS)])
    assert code == 2 and err.count("\n") == 1 and "a damaged Snapshot" in err, err
    (folder / replay.SNAPSHOTS).write_bytes(b"not gzip")
    code, _, err = run(["check", "--replay", "--corpus", str(folder.parent), str(DEFINITIONS)])
    assert code == 2 and err.count("\n") == 1 and "not readable" in err, err


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--static", "--corpus", "x"], "--corpus needs --replay"),
        (["--replay", "--oracle", "karta"], "--oracle takes --static, --live or --snapshots; not --replay"),
        (["--replay", "--kuberay-version", "v0.0.1"], "v0.0.1"),
        (["--replay", "--corpus", "/nonexistent/corpus"], "corpus folder not found"),
        (["--live", "--kuberay-version", "all"], "--live takes one pinned --kuberay-version, not all"),
    ],
)
def test_bad_replay_options_are_one_line(argv: list[str], said: str) -> None:
    code, _, err = run(["check", *argv, str(DEFINITIONS)])
    assert code == 2 and err.count("\n") == 1 and said in err, err


def test_snapshots_are_stored_once_and_read_back_whole_but_events_and_managed_fields() -> None:
    corpus = replay.Corpus.load(replay.SHIPPED / RECORDED[0])
    packed = replay.pack_snapshots(corpus.snapshots)
    stored = sum(1 + len(s["tree"]) + len(s["namespace_pods"]) for s in packed["snapshots"])
    assert len(packed["objects"]) < stored  # an object in several Snapshots is stored once
    back = replay.unpack_snapshots(json.loads(json.dumps(packed)), "here")
    assert back == corpus.snapshots
    assert all(not s.events for s in back)
    assert not any(
        "managedFields" in o["metadata"] for s in back for o in [s.root, *s.tree, *s.namespace_pods]
    )


# ---------------------------------------------------------------------------
# corpus diff


def test_a_corpus_compared_with_itself_has_no_drift() -> None:
    folder = replay.SHIPPED / RECORDED[0]
    code, out, _ = run(["corpus", "diff", str(folder), str(folder)])
    assert code == 0, out
    lines = out.rstrip().splitlines()
    assert lines[0].startswith(f"corpus diff: KubeRay {RECORDED[0]} (") and lines[-1].startswith("no drift: ")


def test_drift_is_shown_readably_and_exits_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new = replay.Corpus.load(replay.SHIPPED / RECORDED[0])
    flipped = next(i for i, v in enumerate(new.verdicts) if v.outcome is Outcome.PASS and v.claim == "status")
    was = new.verdicts[flipped]
    new.verdicts[flipped] = replace(was, outcome=Outcome.FAIL, message="the matched statuses are wrong")
    gone_phase = new.snapshots.pop()
    new.verdicts = [v for v in new.verdicts if v.phase != f"{gone_phase.scenario}/{gone_phase.phase}"] + [
        replace(was, claim="a-new-claim")
    ]
    new.save(tmp_path / "new")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = run(["corpus", "diff", str(replay.SHIPPED / RECORDED[0]), str(tmp_path / "new")])
    assert code == 1
    lines = out.rstrip().splitlines()
    assert f"- phase: {gone_phase.scenario}/{gone_phase.phase}" in lines
    assert any(
        line.startswith(f"~ {was.definition} status {was.subject or '-'} [{was.phase}]: ")
        and "-> FAIL" in line
        and line.endswith("the matched statuses are wrong")
        for line in lines
    ), lines
    assert any(line.startswith(f"+ {was.definition} a-new-claim ") for line in lines)
    assert any(
        line.startswith("- ") and f"[{gone_phase.scenario}/{gone_phase.phase}]" in line for line in lines
    )
    assert lines[-1].startswith("drift: 1 verdict(s) changed outcome, 1 appeared, ")
    assert "**drift: " in summary.read_text()


def test_corpora_of_two_versions_are_not_compared(tmp_path: Path) -> None:
    other = _copy(tmp_path)
    header = json.loads((other / replay.HEADER).read_text())
    (other / replay.HEADER).write_text(json.dumps({**header, "kuberay_version": "v0.0.1"}))
    code, _, err = run(["corpus", "diff", str(replay.SHIPPED / RECORDED[0]), str(other)])
    assert code == 2 and "compare two recordings of one version" in err


# ---------------------------------------------------------------------------
# corpus record, with the live run stood in for by the committed corpus


class _Provider:
    name = "local"
    kubernetes_version = "v1.34.4"


class _Session:
    """A LiveSession whose run is the committed corpus's (verdicts optionally changed)."""

    def __init__(self, corpus: replay.Corpus, failures: list[ScenarioFailed], flip: bool) -> None:
        self.corpus, self.failures, self.flip = corpus, failures, flip
        self.provider = _Provider()
        self.header = "backend local: a stand-in"

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def run(self, definitions: Any) -> LiveRun:
        c = self.corpus
        result = LiveResult(
            snapshots=c.snapshots,
            flows=c.flows,
            kuberay_version=c.kuberay_version,
            left_out=c.left_out,
            failures=self.failures,
            unverified=[PhaseUnverified(p.scenario, p.phase, p.message) for p in c.problems],
        )
        verdicts = list(c.verdicts)
        if self.flip:
            verdicts[-1] = replace(verdicts[-1], outcome=Outcome.FAIL)
        return LiveRun(result, verdicts, self.header, {})


@pytest.mark.parametrize(
    ("failures", "flip"), [([], False), ([ScenarioFailed("rayjob", "running", "x")], False), ([], True)]
)
def test_record_writes_the_corpus_only_when_whole_and_true_to_its_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failures: list[ScenarioFailed], flip: bool
) -> None:
    version = RECORDED[0]
    corpus = replay.Corpus.load(replay.SHIPPED / version)
    session = _Session(corpus, failures, flip)
    monkeypatch.setattr(LiveSession, "for_cluster", classmethod(lambda cls, *a, **k: session))
    out = tmp_path / "out"
    code, said, err = run(
        ["corpus", "record", "--kuberay-version", version, "--out", str(out), str(DEFINITIONS)]
    )
    if failures or flip:
        assert code == 1 and not (out / version).exists()
        assert said.startswith(f"corpus of {version} not recorded: ")
        return
    assert code == 0, said + err
    assert said.startswith(f"corpus of {version} recorded in {out / version}: ")
    assert sorted(p.name for p in out.iterdir()) == [version]  # no staging folder left behind
    header = json.loads((out / version / replay.HEADER).read_text())
    assert {k: header[k] for k in ("format", "version", "kuberay_version", "backend")} == {
        "format": replay.FORMAT,
        "version": replay.VERSION,
        "kuberay_version": version,
        "backend": "local",
    }
    assert len(header["recorded"]) == 10 and "commit" not in json.dumps(header)
    code, said, _ = run(["corpus", "diff", str(replay.SHIPPED / version), str(out / version)])
    assert code == 0, said
