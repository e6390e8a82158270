"""The scenarios: real workloads driven through their lives, one module per workload family.

Each scenario is written in the phase language (``language.py``) and registers itself with
``@scenario``; importing this package registers them all. What a run without ``--features`` runs,
and in which order, is decided here.
"""

from __future__ import annotations

from conformance import inventory
from conformance.live.scenarios import (  # noqa: F401 - each registers its scenarios
    kueue,
    raycluster,
    raycronjob,
    rayjob,
    rayservice,
    schedulers,
)
from conformance.live.scenarios.context import Context, PhaseUnverified, ScenarioFailed
from conformance.live.scenarios.registry import REGISTRY, Scenario

__all__ = [
    "DEFAULT_FEATURE_SCENARIOS",
    "FEATURE_SCENARIOS",
    "REGISTRY",
    "SCENARIOS",
    "Context",
    "PhaseUnverified",
    "Scenario",
    "ScenarioFailed",
    "default_scenarios",
    "left_out",
]

# The default scenarios, in the order they run.
SCENARIOS: dict[str, Scenario] = {name: s for name, s in REGISTRY.items() if s.default}
# Scenarios of the feature matrix (``--features``).
FEATURE_SCENARIOS: dict[str, Scenario] = {name: s for name, s in REGISTRY.items() if not s.default}

# Feature scenarios the default run includes too: the suspensions (about 15 s on the local backend;
# without them the shipped definitions' Suspended mappings would be reported not-checked on every default
# run) and the RayCronJob (the only scenario of definitions/raycronjob.yaml), each where the KubeRay version
# has its feature.
DEFAULT_FEATURE_SCENARIOS = ("raycluster-suspend", "rayjob-suspend", "raycronjob")

# Default feature scenarios of the local backend only. On kind (and an existing cluster) every Pod runs
# real Ray: raycronjob's two clusters beside the default scenarios took a 2-core machine's kind leg from
# 6 to 12 minutes and past the scenarios' deadlines. There they run with `--features raycronjob` (the
# nightly kind matrix runs `--features all`), and a default run says so (``left_out``).
LOCAL_ONLY_DEFAULTS = {
    "raycronjob": "in the default set of the local backend only (its two real Ray clusters beside the default "
    "scenarios overload a small machine's kind cluster); `--features raycronjob` runs it on this backend",
}


def default_scenarios(version: str | None = None, backend: str | None = None) -> list[str]:
    """What a run without ``--features`` runs on KubeRay ``version`` and ``backend``, in order (None:
    every one)."""
    return [
        *SCENARIOS,
        *(
            name
            for name in DEFAULT_FEATURE_SCENARIOS
            if (version is None or _in(name, version))
            and (backend in (None, "local") or name not in LOCAL_ONLY_DEFAULTS)
        ),
    ]


def left_out(version: str, backend: str) -> dict[str, str]:
    """Default feature scenarios the version has but ``backend``'s default run leaves out: name -> why."""
    return {
        name: why
        for name, why in LOCAL_ONLY_DEFAULTS.items()
        if _in(name, version) and name not in default_scenarios(version, backend)
    }


def _in(scenario: str, version: str) -> bool:
    """Whether KubeRay ``version`` has (the gates on, as the harness runs it) the features ``scenario`` drives."""
    return all(inventory.by_name()[f].active_in(version) for f in REGISTRY[scenario].drives)
