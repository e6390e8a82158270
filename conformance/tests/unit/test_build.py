"""conformance/toolchain/build.py: the Go build wrappers (the Ray venv is in test_build_ray.py)."""

from __future__ import annotations

import pytest

from conformance.toolchain.build import _remote_replaces

pytestmark = pytest.mark.unit


def test_wrapper_copies_remote_replace_directives() -> None:
    go_mod = """module x
replace github.com/imdario/mergo => github.com/imdario/mergo v0.3.16
replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tgo.opentelemetry.io/otelhttp v0.35.1 => go.opentelemetry.io/otelhttp v0.44.0
)
"""
    assert _remote_replaces(go_mod) == [
        "github.com/imdario/mergo => github.com/imdario/mergo v0.3.16",
        "go.opentelemetry.io/otelhttp v0.35.1 => go.opentelemetry.io/otelhttp v0.44.0",
    ]
