"""Sample workloads from ``fixtures/``: load, and render for a pinned KubeRay version."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance import inputs
from conformance.errors import UserError

RAY_IMAGE = re.compile(r"^(?:docker\.io/)?rayproject/ray(?::[^@]*)?$")


@dataclass(frozen=True)
class Fixture:
    source: str
    object: dict[str, Any]

    @property
    def api_version(self) -> str:
        return str(self.object.get("apiVersion", ""))

    @property
    def kind(self) -> str:
        return str(self.object.get("kind", ""))

    @property
    def name(self) -> str:
        return str((self.object.get("metadata") or {}).get("name", ""))


def default_dir() -> Path:
    """The shipped fixtures: ``conformance/_fixtures`` (in a checkout a link to the top-level ``fixtures/``;
    in an installed wheel its copy), so a ``pip install``ed harness finds them outside any checkout."""
    return Path(__file__).resolve().parent / "_fixtures"


def load_fixtures(folder: Path | None = None) -> list[Fixture]:
    """Every Kubernetes object in the YAML files directly inside ``folder`` (patches/ is separate)."""
    folder = folder or default_dir()
    if not folder.is_dir():
        raise UserError("fixtures folder not found", where=str(folder))
    fixtures = []
    for file in inputs.yaml_files(folder, folder):
        documents = inputs.load_all(inputs.read_text(file, folder), str(file))
        for index, document in enumerate(documents):
            if document is None:
                continue
            problem = _object_problem(document)
            if problem:
                where = f"{file}#{index + 1}" if len(documents) > 1 else str(file)
                raise UserError(f"not a Kubernetes object: {problem}", where=where)
            fixtures.append(Fixture(source=str(file), object=document))
    return fixtures


def _object_problem(document: Any) -> str | None:
    if not isinstance(document, dict):
        return f"expected a mapping, got {type(document).__name__}"
    for key in ("apiVersion", "kind"):
        if not isinstance(document.get(key), str) or not document[key]:
            return f"{key} must be a non-empty string"
    metadata = document.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str):
        return "metadata.name must be a string"
    return None


def load_patch(name: str, folder: Path | None = None) -> dict[str, Any]:
    tree = (folder or default_dir()) / "patches"
    path = tree / f"{name}.yaml"
    documents = inputs.load_all(inputs.read_text(path, tree), str(path))
    patch = documents[0] if len(documents) == 1 else None
    if not isinstance(patch, dict):
        raise UserError("a patch must be a mapping", where=str(path))
    return patch


def mappings(node: Any) -> Iterator[dict[str, Any]]:
    """Every mapping in a JSON-like value, outermost first (its values may be changed in place;
    its keys not)."""
    if isinstance(node, dict):
        yield node
        for value in list(node.values()):
            yield from mappings(value)
    elif isinstance(node, list):
        for item in node:
            yield from mappings(item)


def render(obj: dict[str, Any], ray_image: str, ray_version: str) -> dict[str, Any]:
    """A copy of ``obj`` with every rayproject/ray image and every rayVersion pinned."""
    rendered = copy.deepcopy(obj)
    for node in mappings(rendered):
        if isinstance(node.get("image"), str) and RAY_IMAGE.match(node["image"]):
            node["image"] = ray_image
        if isinstance(node.get("rayVersion"), str):
            node["rayVersion"] = ray_version
    return rendered


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def deploy_failed_patch(
    rayservice: dict[str, Any], missing_module: str = "karta_fixture_missing"
) -> dict[str, Any]:
    """Fault hook: a merge patch that points every Serve application of a RayService at a module that does
    not exist, so Ray Serve reports the applications DEPLOY_FAILED (KubeRay applies serveConfigV2 changes
    in place, without a new cluster)."""
    config = yaml.safe_load((rayservice.get("spec") or {}).get("serveConfigV2") or "{}") or {}
    for application in config.get("applications") or []:
        application["import_path"] = f"{missing_module}:app"
    return {"spec": {"serveConfigV2": yaml.safe_dump(config, sort_keys=False)}}
