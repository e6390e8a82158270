"""The recorded corpus: what a default live run saw on one pinned KubeRay version, judged again without a
cluster (pure: files in, verdicts out).

A corpus is one folder per KubeRay version, ``conformance/corpus/<version>/``, shipped in the wheel:

``corpus.json``
    the header: ``format`` ``karta-conformance/corpus``, ``version`` 1, ``kuberay_version``, ``backend``,
    ``recorded`` (a date), what else the run said about itself (its Kubernetes version, the phases the
    backend could not drive, the default scenarios it left out), and nothing naming a commit;
``snapshots.json.gz``
    every Snapshot of the run, each object stored once however many Snapshots hold it (keyed by uid and
    resourceVersion); the events and ``managedFields``, which no claim reads, are left out;
``flows/<scenario>.flow.jsonl.gz``
    every scenario's flow, in the flow format (``conformance/flow.py``);
``verdicts.json.gz``
    the verdicts the live run gave for the definitions it was recorded with (evidence left out).

:func:`judge` is the one place a run's claims are judged, live (``live/session.py``) and replayed alike,
so a replay of a corpus gives the verdicts the live run that recorded it gave. The admission phase
(``admitted``, ``lookup``) needs the API server and is not replayed; the definitions are judged as the
API server keeps them (:func:`as_admitted`), as a live run judges them. A reader refuses another format or
a newer version with one line (exit 2), never a traceback.
"""

from __future__ import annotations

import copy
import gzip
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from conformance.claims import frames, live, names
from conformance.claims.lookup import PHASE as ADMISSION_PHASE
from conformance.definition.convert import convert_document
from conformance.definition.dialects.karta import KARTA
from conformance.definition.loader import load_document
from conformance.definition.model import Definition
from conformance.errors import UserError
from conformance.flow import SUFFIX as FLOW_SUFFIX
from conformance.flow import Flow, load_flows
from conformance.neutral import text
from conformance.snapshot import Expectation, Snapshot
from conformance.verdict import Outcome, Verdict, verdict_for

FORMAT = "karta-conformance/corpus"
VERSION = 1
HEADER = "corpus.json"
SNAPSHOTS = "snapshots.json.gz"
VERDICTS = "verdicts.json.gz"
FLOWS = "flows"
SHIPPED = Path(__file__).resolve().parent / "corpus"  # the corpus shipped with the harness
MAX_BYTES = 256 << 20  # a corpus file, uncompressed: far above any recorded run, far below a bomb

Key = tuple[str, str, str, str]  # (definition, claim, subject, phase): a verdict's place in a run


@dataclass(frozen=True)
class Problem:
    """A scenario that broke (ERROR) or a phase the backend could not drive (UNVERIFIED), said of every
    definition of its root kind."""

    scenario: str
    phase: str
    root_kind: str
    outcome: Outcome
    message: str


def problem_verdicts(problems: Iterable[Problem], definitions: Sequence[Definition]) -> list[Verdict]:
    return [
        verdict_for(definition, names.SCENARIO, "", f"{p.scenario}/{p.phase}", p.outcome, p.message)
        for p in problems
        for definition in definitions
        if definition.root.kind is not None and definition.root.kind.kind == p.root_kind
    ]


def judge(
    definitions: Sequence[Definition],
    snapshots: Sequence[Snapshot],
    flows: Sequence[Flow],
    kuberay_version: str | None,
    problems: Sequence[Problem] = (),
    left_out: Mapping[str, str] | None = None,
) -> list[Verdict]:
    """Every claim of a run (but admission's) on its Snapshots and flows: the live claims, the scenarios
    that broke or could not run, every frame. A definition whose root kind's default scenario the backend
    left out (``left_out``: root kind -> why) is N/A, not an ERROR."""
    judged = frames.judge(definitions, flows)
    verdicts = (
        live.check(definitions, snapshots, kuberay_version, frames.confirmed_statuses(judged))
        + problem_verdicts(problems, definitions)
        + judged
    )
    gone = left_out or {}
    kinds = {d.name: d.root.kind.kind for d in definitions if d.root.kind is not None}
    return [
        replace(v, outcome=Outcome.NOT_APPLICABLE, message=f"{v.message} ({gone[kinds[v.definition]]})")
        if v.claim == names.SCENARIO
        and v.phase == "live"
        and v.outcome is Outcome.ERROR
        and kinds.get(v.definition) in gone
        else v
        for v in verdicts
    ]


def as_admitted(definition: Definition) -> Definition:
    """The definition as a live run judges it: applied as a ``run.ai/v1alpha1`` Karta and read back
    (``live/admission.py``), named and sourced like its file. One the loader refuses in that form is
    judged as written, as a live run does when the read-back fails."""
    document = copy.deepcopy(definition.document)
    if definition.dialect != KARTA.name:
        document, _lost = convert_document(document, KARTA)
    back = {
        "apiVersion": KARTA.api_version,
        "kind": KARTA.kind,
        "metadata": {"name": definition.name, "labels": dict(definition.labels)},
        "spec": document.get("spec"),
    }
    try:
        return load_document(back, definition.source)
    except UserError:
        return definition


# ---------------------------------------------------------------------------
# The corpus on disk.


@dataclass
class Corpus:
    kuberay_version: str
    backend: str
    recorded: str  # the date, YYYY-MM-DD
    snapshots: list[Snapshot] = field(default_factory=list)
    flows: list[Flow] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # phases the backend could not drive
    left_out: dict[str, str] = field(default_factory=dict)  # root kind -> why its scenario was left out
    about: dict[str, Any] = field(default_factory=dict)  # kubernetes, description, definitions

    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "kuberay_version": self.kuberay_version,
            "backend": self.backend,
            "recorded": self.recorded,
            **self.about,
            "scenarios": [f.scenario for f in self.flows],
            "phases": [f"{s.scenario}/{s.phase}" for s in self.snapshots],
            "problems": [{**asdict(p), "outcome": p.outcome.value} for p in self.problems],
            "left_out": self.left_out,
            "not_replayed": f"the {ADMISSION_PHASE} phase ({names.ADMITTED}, {names.LOOKUP}): it needs the API server",
        }

    def label(self) -> str:
        return f"KubeRay {self.kuberay_version} ({self.backend}, recorded {self.recorded})"

    def replay(self, definitions: Sequence[Definition]) -> list[Verdict]:
        """The definitions judged on this corpus, each phase labelled ``<kuberay version>/<phase>``."""
        verdicts = judge(
            [as_admitted(d) for d in definitions],
            self.snapshots,
            self.flows,
            self.kuberay_version,
            self.problems,
            self.left_out,
        )
        return [replace(v, phase=f"{self.kuberay_version}/{v.phase}") for v in verdicts]

    def save(self, folder: Path) -> Path:
        """Write the corpus into ``folder`` (made, or emptied of an earlier corpus's files)."""
        folder.mkdir(parents=True, exist_ok=True)
        for old in [folder / SNAPSHOTS, folder / VERDICTS, *(folder / FLOWS).glob(f"*{FLOW_SUFFIX}")]:
            old.unlink(missing_ok=True)
        _write_gz(folder / SNAPSHOTS, pack_snapshots(self.snapshots))
        _write_gz(folder / VERDICTS, {"verdicts": [_verdict_json(v) for v in self.verdicts]})
        for flow in self.flows:
            flow.save(folder / FLOWS)
        (folder / HEADER).write_text(json.dumps(self.header(), indent=2) + "\n", encoding="utf-8")
        return folder

    @staticmethod
    def load(folder: Path, expect_version: str | None = None) -> Corpus:
        """The corpus in ``folder``; another format, a newer version or a damaged file is one line (exit 2)."""
        where = str(folder / HEADER)
        header = _read_json(folder / HEADER, gz=False)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise UserError(f"not a corpus (its {HEADER} names no format {FORMAT!r})", where=where)
        if not isinstance(header.get("version"), int) or header["version"] > VERSION:
            raise UserError(
                f"corpus format version {header.get('version')!r}; this harness reads up to {VERSION}",
                where=where,
            )
        version = header.get("kuberay_version")
        if expect_version is not None and version != expect_version:
            raise UserError(f"a corpus of KubeRay {version!r} in the folder of {expect_version}", where=where)
        try:
            corpus = Corpus(
                kuberay_version=str(version),
                backend=str(header["backend"]),
                recorded=str(header["recorded"]),
                problems=[
                    Problem(
                        str(p["scenario"]),
                        str(p["phase"]),
                        str(p["root_kind"]),
                        Outcome(p["outcome"]),
                        str(p["message"]),
                    )
                    for p in header.get("problems") or []
                ],
                left_out={str(k): str(v) for k, v in (header.get("left_out") or {}).items()},
                about={k: header[k] for k in ("kubernetes", "description", "definitions") if k in header},
            )
        except (KeyError, TypeError, ValueError) as error:
            raise UserError(f"a damaged corpus header: {error!r}", where=where) from None
        corpus.snapshots = unpack_snapshots(_read_json(folder / SNAPSHOTS), str(folder / SNAPSHOTS))
        corpus.flows = load_flows(folder / FLOWS) if (folder / FLOWS).is_dir() else []
        corpus.verdicts = _load_verdicts(_read_json(folder / VERDICTS), str(folder / VERDICTS))
        return corpus


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    data = verdict.to_json()
    data.pop("evidence", None)
    data.pop("expression", None)
    return data


def _load_verdicts(data: Any, where: str) -> list[Verdict]:
    try:
        return [
            Verdict(
                definition=str(v["definition"]),
                source=str(v["source"]),
                claim=str(v["claim"]),
                subject=str(v["subject"]),
                phase=str(v["phase"]),
                outcome=Outcome(v["outcome"]),
                message=str(v["message"]),
            )
            for v in data["verdicts"]
        ]
    except (KeyError, TypeError, ValueError) as error:
        raise UserError(f"a damaged verdict: {error!r}", where=where) from None


def _write_gz(path: Path, data: Any) -> None:
    body = json.dumps(data, separators=(",", ":"), sort_keys=True, default=str).encode()
    # mtime 0: the same corpus is the same bytes, whenever it is written
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        out.write(body)


def _read_json(path: Path, gz: bool = True) -> Any:
    where = str(path)
    if not path.is_file():
        raise UserError("no such file: not a complete corpus", where=where)
    try:
        if gz:
            with gzip.open(path, "rb") as source:
                body = source.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as plain:
                body = plain.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise UserError(f"more than {MAX_BYTES >> 20} MiB uncompressed", where=where)
        return json.loads(body)
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"not readable: {error}", where=where) from None


def _ref(obj: dict[str, Any], table: dict[str, dict[str, Any]]) -> str:
    metadata = obj.get("metadata") or {}
    key = f"{metadata.get('uid', '')}@{metadata.get('resourceVersion', '')}"
    while key in table and table[key] != obj:
        key += "+"
    table[key] = obj
    return key


def _lean(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without ``managedFields`` (the API server's bookkeeping: no claim reads it)."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict) or "managedFields" not in metadata:
        return obj
    return {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}


def pack_snapshots(snapshots: Sequence[Snapshot]) -> dict[str, Any]:
    """The Snapshots with every object (and every list of served kinds) stored once; events left out."""
    objects: dict[str, dict[str, Any]] = {}
    served: list[list[str]] = []
    packed = []
    for snapshot in snapshots:
        data = asdict(snapshot)
        data["root"] = _ref(_lean(snapshot.root), objects)
        data["tree"] = [_ref(_lean(o), objects) for o in snapshot.tree]
        data["namespace_pods"] = [_ref(_lean(o), objects) for o in snapshot.namespace_pods]
        data["events"] = []
        if snapshot.served not in served:
            served.append(list(snapshot.served))
        data["served"] = served.index(snapshot.served)
        packed.append(data)
    return {"objects": objects, "served": served, "snapshots": packed}


def unpack_snapshots(data: Any, where: str) -> list[Snapshot]:
    try:
        objects, served = data["objects"], data["served"]
        found = []
        for item in data["snapshots"]:
            item = dict(item)
            item["root"] = objects[item["root"]]
            item["tree"] = [objects[k] for k in item["tree"]]
            item["namespace_pods"] = [objects[k] for k in item["namespace_pods"]]
            item["served"] = list(served[item["served"]])
            item["expect"] = Expectation(**item["expect"])
            found.append(Snapshot(**item))
        return found
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise UserError(f"a damaged Snapshot: {error!r}", where=where) from None


def size(folder: Path) -> int:
    """The corpus's bytes on disk."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# Replay of the chosen versions, and the comparison of two recordings.


def chosen(root: Path, versions: Sequence[str]) -> tuple[dict[str, Corpus], list[str]]:
    """The corpus of each of ``versions`` under ``root`` (``root/<version>/``), and the versions with none."""
    found: dict[str, Corpus] = {}
    missing: list[str] = []
    for version in versions:
        folder = root / version
        if (folder / HEADER).exists():
            found[version] = Corpus.load(folder, version)
        else:
            missing.append(version)
    return found, missing


def unrecorded(definitions: Iterable[Definition], version: str) -> list[Verdict]:
    """UNVERIFIED, for every definition, on a pinned version that has no corpus: never a silent skip."""
    return [
        verdict_for(
            definition,
            names.SCENARIO,
            "",
            f"{version}/corpus",
            Outcome.UNVERIFIED,
            f"no corpus recorded for {version} (`karta-conformance corpus record --kuberay-version {version}` "
            "records one)",
        )
        for definition in definitions
    ]


def key(verdict: Verdict, strip: str = "") -> Key:
    phase = verdict.phase.removeprefix(strip)
    return (verdict.definition, verdict.claim, verdict.subject, phase)


def replayable(verdicts: Iterable[Verdict]) -> list[Verdict]:
    """The verdicts a replay gives again: all but the admission phase's."""
    return [v for v in verdicts if v.phase != ADMISSION_PHASE]


def outcomes(verdicts: Iterable[Verdict], strip: str = "") -> Counter[tuple[Key, str]]:
    """(key, outcome) counted: what two runs must agree on (messages name objects of one run)."""
    return Counter((key(v, strip), v.outcome.value) for v in verdicts)


@dataclass
class Drift:
    """What changed between two corpora of one KubeRay version."""

    old: Corpus
    new: Corpus
    changed: list[tuple[Key, str, str, str]] = field(default_factory=list)  # key, old, new, new message
    appeared: list[tuple[Key, str, str]] = field(default_factory=list)  # key, outcome, message
    vanished: list[tuple[Key, str, str]] = field(default_factory=list)
    phases: tuple[list[str], list[str]] = ([], [])  # added, gone
    problems: tuple[list[str], list[str]] = ([], [])
    left_out: tuple[list[str], list[str]] = ([], [])
    frames: list[str] = field(default_factory=list)  # per scenario: frames, and root states added or gone

    @property
    def drifted(self) -> bool:
        return bool(
            self.changed
            or self.appeared
            or self.vanished
            or any(side for pair in (self.phases, self.problems, self.left_out) for side in pair)
        )

    def lines(self) -> list[str]:
        """The readable diff, the answer last."""
        out = [f"corpus diff: {self.old.label()} -> {self.new.label()}"]
        for title, (added, gone) in (
            ("phase", self.phases),
            ("phase the backend could not drive", self.problems),
            ("scenario left out", self.left_out),
        ):
            out += [f"+ {title}: {text(item, 500)}" for item in added]
            out += [f"- {title}: {text(item, 500)}" for item in gone]
        for (definition, claim, subject, phase), before, after, message in self.changed:
            out.append(
                f"~ {text(definition, 200)} {text(claim, 100)} {text(subject or '-', 300)} [{text(phase, 200)}]: "
                f"{before.upper()} -> {after.upper()}: {text(message, 500)}"
            )
        for sign, items in (("+", self.appeared), ("-", self.vanished)):
            for (definition, claim, subject, phase), outcome, message in items:
                out.append(
                    f"{sign} {text(definition, 200)} {text(claim, 100)} {text(subject or '-', 300)} "
                    f"[{text(phase, 200)}]: {outcome.upper()}: {text(message, 500)}"
                )
        out += [f"  frames: {line}" for line in self.frames]
        if self.drifted:
            out.append(
                f"drift: {len(self.changed)} verdict(s) changed outcome, {len(self.appeared)} appeared, "
                f"{len(self.vanished)} vanished, {len(self.phases[0])} phase(s) added, {len(self.phases[1])} "
                f"gone: KubeRay {self.new.kuberay_version} no longer behaves as the corpus recorded"
            )
        else:
            out.append(
                f"no drift: every verdict's outcome and every phase agree ({len(self.new.verdicts)} verdicts, "
                f"{len(self.new.snapshots)} phases)"
            )
        return out


def _added_gone(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    before, after = list(old), list(new)
    return [x for x in after if x not in before], [x for x in before if x not in after]


TIMES = ("lastScheduleTime",)  # key status fields holding a time: whether set is the state, not when


def root_states(flow: Flow) -> list[str]:
    """The distinct states the flow's roots passed through (their kind and key status fields), in order."""
    roots = {(kind, name) for _, kind, name in flow.roots()}
    seen: list[str] = []
    for frame in flow.frames:
        if frame.key in roots and frame.type != "DELETED":
            fields = frames.key_fields(frame.object)
            fields.update({name: "set" for name in TIMES if name in fields})
            state = f"{frame.kind} {json.dumps(fields, sort_keys=True)}"
            if state not in seen:
                seen.append(state)
    return seen


def diff(old: Corpus, new: Corpus) -> Drift:
    """Verdicts that appeared, vanished or changed outcome (compared by definition, claim, subject and
    phase: messages name one run's objects), and the phases, unverified phases and left-out scenarios
    added or gone. The flows' frames are counted, and the root states seen added or gone listed: timing
    makes them differ between any two runs, so they inform and are not drift by themselves."""
    if old.kuberay_version != new.kuberay_version:
        raise UserError(
            f"corpora of two KubeRay versions ({old.kuberay_version}, {new.kuberay_version}): "
            "compare two recordings of one version"
        )
    drift = Drift(old, new)
    before: dict[Key, Counter[str]] = {}
    after: dict[Key, Counter[str]] = {}
    message: dict[tuple[Key, str], str] = {}
    for verdicts, table in ((old.verdicts, before), (new.verdicts, after)):
        for v in verdicts:
            table.setdefault(key(v), Counter())[v.outcome.value] += 1
            message.setdefault((key(v), v.outcome.value), v.message)
    for k in [*before, *(k for k in after if k not in before)]:
        if k not in after:
            drift.vanished += [(k, o, message[(k, o)]) for o in before[k]]
        elif k not in before:
            drift.appeared += [(k, o, message[(k, o)]) for o in after[k]]
        elif set(before[k]) != set(after[k]):  # how many (pod groups at a phase, say) is timing's
            was, now = ", ".join(sorted(before[k])), ", ".join(sorted(after[k]))
            new_ones = [o for o in after[k] if o not in before[k]]
            shown = (
                message[(k, new_ones[0])] if new_ones else f"no longer: {message[(k, next(iter(before[k])))]}"
            )
            drift.changed.append((k, was, now, shown))
    drift.phases = _added_gone(
        (f"{s.scenario}/{s.phase}" for s in old.snapshots), (f"{s.scenario}/{s.phase}" for s in new.snapshots)
    )
    drift.problems = _added_gone(
        (f"{p.scenario}/{p.phase}: {p.message}" for p in old.problems),
        (f"{p.scenario}/{p.phase}: {p.message}" for p in new.problems),
    )
    drift.left_out = _added_gone(
        (f"{k}: {v}" for k, v in old.left_out.items()), (f"{k}: {v}" for k, v in new.left_out.items())
    )
    flows_before = {f.scenario: f for f in old.flows}
    flows_after = {f.scenario: f for f in new.flows}
    for scenario in [*flows_before, *(s for s in flows_after if s not in flows_before)]:
        one, other = flows_before.get(scenario), flows_after.get(scenario)
        if one is None or other is None:
            drift.frames.append(f"{scenario}: {'no flow before' if one is None else 'no flow now'}")
            continue
        added, gone = _added_gone(root_states(one), root_states(other))
        line = f"{scenario}: {len(one.frames)} -> {len(other.frames)} frames"
        if added or gone:
            line += f"; root states + {len(added)}, - {len(gone)}"
        drift.frames.append(line)
        drift.frames += [f"  + {text(s, 500)}" for s in added] + [f"  - {text(s, 500)}" for s in gone]
    return drift
