"""The diagnostics bundle written when a live step fails: objects, events and logs."""

from __future__ import annotations

import shutil
import traceback
from pathlib import Path
from typing import Any

import yaml

from conformance.k8s.client import Kube

KINDS = [
    ("ray.io/v1", "RayService"),
    ("ray.io/v1", "RayCluster"),
    ("ray.io/v1", "RayJob"),
    ("v1", "Pod"),
    ("v1", "Service"),
    ("batch/v1", "Job"),
    ("v1", "Event"),
]


def collect(kube: Kube, namespace: str, folder: Path, logs: list[Path], note: str = "") -> Path:
    """Write every object of the interesting kinds in ``namespace``, the events and ``logs`` to ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    if note:
        (folder / "what-happened.txt").write_text(note + "\n")
    for api_version, kind in KINDS:
        try:
            items: list[dict[str, Any]] = kube.list_objects(api_version, kind, namespace)
        except Exception as error:  # diagnostics must never hide the original failure
            (folder / f"{kind.lower()}s.error.txt").write_text("".join(traceback.format_exception(error)))
            continue
        (folder / f"{kind.lower()}s.yaml").write_text(yaml.safe_dump_all(items, sort_keys=False))
    for log in logs:
        if log.is_file():
            shutil.copyfile(log, folder / log.name)
        elif log.is_dir():
            shutil.copytree(log, folder / log.name, dirs_exist_ok=True)
    return folder
