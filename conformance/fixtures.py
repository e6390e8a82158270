"""Sample workloads from ``fixtures/``: load, and render for a pinned KubeRay version."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

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
    """``fixtures/`` of this checkout."""
    return Path(__file__).resolve().parent.parent / "fixtures"


def load_fixtures(folder: Path | None = None) -> list[Fixture]:
    """Every Kubernetes object in the YAML files directly inside ``folder`` (patches/ is separate)."""
    folder = folder or default_dir()
    if not folder.is_dir():
        raise UserError("fixtures folder not found", where=str(folder))
    fixtures = []
    for file in sorted(folder.glob("*.yaml")):
        try:
            documents = list(yaml.safe_load_all(file.read_text()))
        except yaml.YAMLError as error:
            raise UserError(f"not valid YAML: {str(error).splitlines()[0]}", where=str(file)) from None
        for document in documents:
            if isinstance(document, dict) and document.get("kind"):
                fixtures.append(Fixture(source=str(file), object=document))
    return fixtures


def load_patch(name: str, folder: Path | None = None) -> dict[str, Any]:
    path = (folder or default_dir()) / "patches" / f"{name}.yaml"
    try:
        patch = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise UserError(f"cannot read patch: {error}", where=str(path)) from None
    if not isinstance(patch, dict):
        raise UserError("a patch must be a mapping", where=str(path))
    return patch


def render(obj: dict[str, Any], ray_image: str, ray_version: str) -> dict[str, Any]:
    """A copy of ``obj`` with every rayproject/ray image and every rayVersion pinned."""
    rendered = copy.deepcopy(obj)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "image" and isinstance(value, str) and RAY_IMAGE.match(value):
                    node[key] = ray_image
                elif key == "rayVersion" and isinstance(value, str):
                    node[key] = ray_version
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(rendered)
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
