"""conformance/flow.py: a recorded flow is saved, read back without a cluster, and refused with one line
when it is not one this harness reads."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.errors import UserError
from conformance.flow import FORMAT, Flow, Frame, Marker, load_flows

pytestmark = pytest.mark.unit


def _obj(name: str, rv: str, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayJob",
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": rv},
        "status": status,
    }


def _flow() -> Flow:
    flow = Flow("rayjob", "ns", "v1.6.2", [("ray.io/v1", "RayJob"), ("v1", "Pod")], started=100.0)
    flow.frames.append(Frame("ADDED", 100.5, "ray.io/v1", "RayJob", "job", "1", _obj("job", "1")))
    flow.markers.append(Marker("created", 1, 100.6, ("ray.io/v1", "RayJob", "job"), ("initializing",)))
    flow.frames.append(
        Frame(
            "MODIFIED",
            101.0,
            "ray.io/v1",
            "RayJob",
            "job",
            "2",
            _obj("job", "2", jobDeploymentStatus="Running"),
        )
    )
    flow.frames.append(
        Frame("ADDED", 101.5, "v1", "Pod", "head", "3", {"kind": "Pod", "metadata": {"name": "head"}})
    )
    flow.frames.append(
        Frame("DELETED", 102.0, "v1", "Pod", "head", "4", {"kind": "Pod", "metadata": {"name": "head"}})
    )
    flow.markers.append(Marker("running", 4, 102.1, ("ray.io/v1", "RayJob", "job"), ("running",)))
    return flow


def test_a_flow_is_saved_and_read_back_in_order(tmp_path: Path) -> None:
    path = _flow().save(tmp_path)
    assert path.name == "rayjob.flow.jsonl.gz"
    with gzip.open(path, "rt") as saved:
        lines = [json.loads(line) for line in saved]
    assert lines[0]["format"] == FORMAT and lines[0]["version"] == 1
    assert [next(iter(entry)) for entry in lines[1:]] == [
        "frame",
        "marker",
        "frame",
        "frame",
        "frame",
        "marker",
    ]
    again = Flow.load(path)
    assert again.frames == _flow().frames and again.markers == _flow().markers
    assert again.roots() == [("ray.io/v1", "RayJob", "job")]
    assert [f.resource_version for f in again.frames_of("RayJob", "job")] == ["1", "2"]


def test_the_state_at_a_marker_is_the_flow_replayed_up_to_it() -> None:
    flow = _flow()
    created, running = flow.markers
    assert set(flow.state_at(created.frame)) == {("RayJob", "job")}
    assert ("Pod", "head") in flow.state_at(3)
    assert set(flow.state_at(running.frame)) == {("RayJob", "job")}  # the Pod was deleted before it
    assert flow.state_at(running.frame)[("RayJob", "job")]["status"] == {"jobDeploymentStatus": "Running"}


@pytest.mark.parametrize(
    ("header", "said"),
    [
        ({"format": "something-else"}, "not a flow file"),
        ({"format": FORMAT, "version": 99}, "flow format version 99; this harness reads up to 1"),
    ],
)
def test_another_format_or_a_newer_version_is_one_line(
    tmp_path: Path, header: dict[str, Any], said: str
) -> None:
    path = tmp_path / "x.flow.jsonl.gz"
    with gzip.open(path, "wt") as out:
        out.write(json.dumps(header) + "\n")
    with pytest.raises(UserError, match=said):
        Flow.load(path)


def test_a_damaged_file_or_an_empty_folder_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "x.flow.jsonl.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(UserError, match="not a readable flow file"):
        Flow.load(path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match=r"no \*\.flow\.jsonl\.gz files"):
        load_flows(empty)
