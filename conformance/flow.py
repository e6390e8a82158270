"""Flows: one continuous recording of a scenario's namespace (pure: plain data in, values out).

A Flow is every change the API server reported, in order, for the kinds a definition can reach (the root,
RayClusters, Jobs, Pods, Services, PodGroups, ...): each a :class:`Frame` (the object as it was, its
resourceVersion, the time, the event type). A phase of the scenario is a :class:`Marker` on the flow: the
frames before it are what the workload had passed through when that phase's Snapshot was taken. The
claims judge every frame, not only the phases a scenario photographs (``claims/frames.py``).

The saved format (``FORMAT``, ``VERSION``), one file per scenario, ``<scenario>.flow.jsonl.gz``: gzip'd
JSON lines. The first line is the header::

    {"format": "karta-conformance/flow", "version": 1, "scenario": "rayjob", "namespace": "kc-rayjob-1a2b3",
     "kuberay_version": "v1.6.2", "kinds": [["v1", "Pod"], ...], "started": 1765130000.0}

then, in order, one line per frame or marker::

    {"frame": {"type": "ADDED", "time": 1765130001.2, "apiVersion": "ray.io/v1", "kind": "RayJob",
               "name": "x", "resourceVersion": "1234", "object": {...}}}
    {"marker": {"phase": "running", "frame": 57, "time": 1765130020.5, "root": ["ray.io/v1", "RayJob", "x"],
                "statuses": ["running"]}}

``type`` is the watch event's (ADDED, MODIFIED, DELETED), or LISTED for an object that existed when the
recording of its kind began; ``frame`` in a marker is the number of frames recorded before it. A reader
refuses another format or a newer version with one line (exit 2), never a traceback.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.errors import UserError

FORMAT = "karta-conformance/flow"
VERSION = 1
SUFFIX = ".flow.jsonl.gz"

Key = tuple[str, str]  # (kind, name) within the flow's namespace


@dataclass(frozen=True)
class Frame:
    type: str  # ADDED, MODIFIED, DELETED, or LISTED
    time: float
    api_version: str
    kind: str
    name: str
    resource_version: str
    object: dict[str, Any]

    @property
    def key(self) -> Key:
        return (self.kind, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "time": self.time,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "resourceVersion": self.resource_version,
            "object": self.object,
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Frame:
        return Frame(
            type=str(data["type"]),
            time=float(data["time"]),
            api_version=str(data["apiVersion"]),
            kind=str(data["kind"]),
            name=str(data["name"]),
            resource_version=str(data.get("resourceVersion") or ""),
            object=dict(data["object"]),
        )


@dataclass(frozen=True)
class Marker:
    phase: str
    frame: int  # frames recorded before the phase's Snapshot
    time: float
    root: tuple[str, str, str]  # (apiVersion, kind, name)
    statuses: tuple[str, ...] = ()  # what the scenario expected the root to read at this phase

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "frame": self.frame,
            "time": self.time,
            "root": list(self.root),
            "statuses": list(self.statuses),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Marker:
        root = data["root"]
        return Marker(
            phase=str(data["phase"]),
            frame=int(data["frame"]),
            time=float(data["time"]),
            root=(str(root[0]), str(root[1]), str(root[2])),
            statuses=tuple(str(s) for s in data.get("statuses") or ()),
        )


@dataclass
class Flow:
    scenario: str
    namespace: str
    kuberay_version: str | None
    kinds: list[tuple[str, str]]
    started: float
    frames: list[Frame] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)

    def roots(self) -> list[tuple[str, str, str]]:
        """The roots the scenario's phases named, in the order first named."""
        seen: list[tuple[str, str, str]] = []
        for marker in self.markers:
            if marker.root not in seen:
                seen.append(marker.root)
        return seen

    def frames_of(self, kind: str, name: str) -> Iterator[Frame]:
        return (f for f in self.frames if f.kind == kind and f.name == name)

    def state_at(self, upto: int) -> dict[Key, dict[str, Any]]:
        """Every object as it stood after the first ``upto`` frames (a deleted one is gone)."""
        state: dict[Key, dict[str, Any]] = {}
        for frame in self.frames[:upto]:
            if frame.type == "DELETED":
                state.pop(frame.key, None)
            else:
                state[frame.key] = frame.object
        return state

    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "scenario": self.scenario,
            "namespace": self.namespace,
            "kuberay_version": self.kuberay_version,
            "kinds": [list(k) for k in self.kinds],
            "started": self.started,
        }

    def save(self, folder: Path) -> Path:
        """``folder/<scenario>.flow.jsonl.gz``; frames and markers in the order they happened."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.scenario}{SUFFIX}"
        entries: list[tuple[float, int, dict[str, Any]]] = [
            (m.frame, 1, {"marker": m.to_json()}) for m in self.markers
        ]
        entries += [(i + 1, 0, {"frame": f.to_json()}) for i, f in enumerate(self.frames)]
        entries.sort(key=lambda e: (e[0], e[1]))
        with gzip.open(path, "wt", encoding="utf-8") as out:
            out.write(json.dumps(self.header()) + "\n")
            for _, _, entry in entries:
                out.write(json.dumps(entry, separators=(",", ":")) + "\n")
        return path

    @staticmethod
    def load(path: Path) -> Flow:
        """A saved flow; another format, a newer version or a damaged file is one line (exit 2)."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as source:
                lines = [json.loads(line) for line in source if line.strip()]
        except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UserError(f"not a readable flow file: {error}", where=str(path)) from None
        if not lines or not isinstance(lines[0], dict) or lines[0].get("format") != FORMAT:
            raise UserError(f"not a flow file (its first line names no format {FORMAT!r})", where=str(path))
        header = lines[0]
        if not isinstance(header.get("version"), int) or header["version"] > VERSION:
            raise UserError(
                f"flow format version {header.get('version')!r}; this harness reads up to {VERSION}",
                where=str(path),
            )
        try:
            flow = Flow(
                scenario=str(header["scenario"]),
                namespace=str(header["namespace"]),
                kuberay_version=header.get("kuberay_version"),
                kinds=[(str(a), str(k)) for a, k in header.get("kinds") or []],
                started=float(header.get("started") or 0.0),
            )
            for entry in lines[1:]:
                if "frame" in entry:
                    flow.frames.append(Frame.from_json(entry["frame"]))
                elif "marker" in entry:
                    flow.markers.append(Marker.from_json(entry["marker"]))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise UserError(f"a damaged flow entry: {error!r}", where=str(path)) from None
        return flow


def load_flows(folder: Path) -> list[Flow]:
    """Every flow in ``folder``, in name order; none is one line (exit 2)."""
    if not folder.is_dir():
        raise UserError("flows folder not found", where=str(folder))
    flows = [Flow.load(path) for path in sorted(folder.glob(f"*{SUFFIX}"))]
    if not flows:
        raise UserError(f"no *{SUFFIX} files in this folder", where=str(folder))
    return flows
