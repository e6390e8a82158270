"""conformance/fixtures.py: the sample workloads and the patches scenarios apply to them."""

from __future__ import annotations

import pytest
import yaml

from conformance.fixtures import deploy_failed_patch, load_fixtures

pytestmark = pytest.mark.unit


def test_deploy_failed_hook_points_every_app_at_a_missing_module() -> None:
    rayservice = next(f.object for f in load_fixtures() if f.kind == "RayService")
    config = yaml.safe_load(deploy_failed_patch(rayservice)["spec"]["serveConfigV2"])
    assert [a["import_path"] for a in config["applications"]] == ["karta_fixture_missing:app"]
    assert config["applications"][0]["name"] == "echo"
