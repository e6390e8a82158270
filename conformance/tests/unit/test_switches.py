"""conformance/backends/switches.py: the switch flips through the API, and the nudge that follows them."""

from __future__ import annotations

import pytest

from conformance.backends.fixture_app import SWITCH_ANNOTATION
from conformance.backends.switches import NUDGE_ATTEMPTS, ApiSwitches
from conformance.errors import EnvironmentProblem

pytestmark = pytest.mark.unit

GONE = 'kubectl -n ns annotate pods failed: Error from server (NotFound): pods "w-1" not found'


class Kubectl:
    """Records each call; an ``annotate`` fails with the errors given, in order, then succeeds."""

    def __init__(self, annotate_errors: list[str]) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.errors = list(annotate_errors)

    def __call__(self, *args: str, input: str | None = None) -> str:
        self.calls.append(args)
        if "annotate" in args and self.errors:
            raise EnvironmentProblem(self.errors.pop(0))
        return ""


def nudges(kubectl: Kubectl) -> list[str]:
    return [
        next(a for a in call if a.startswith(SWITCH_ANNOTATION))
        for call in kubectl.calls
        if "annotate" in call
    ]


def test_a_pod_deleted_between_list_and_patch_gets_the_nudge_sent_again() -> None:
    kubectl = Kubectl([GONE])
    ApiSwitches(kubectl).set_app_unhealthy("ns", True)
    sent = nudges(kubectl)
    assert len(sent) == 2 and sent[0] != sent[1]  # sent twice, each with a value never used before


def test_another_error_is_not_retried() -> None:
    kubectl = Kubectl(["kubectl -n ns annotate pods failed: Unauthorized"])
    with pytest.raises(EnvironmentProblem, match="Unauthorized"):
        ApiSwitches(kubectl).release_heads("ns")
    assert len(nudges(kubectl)) == 1


def test_pods_that_keep_disappearing_end_in_one_line_after_a_bounded_number_of_attempts() -> None:
    kubectl = Kubectl([GONE] * (NUDGE_ATTEMPTS + 5))
    with pytest.raises(
        EnvironmentProblem, match=f"kept disappearing while being nudged \\({NUDGE_ATTEMPTS} attempts\\)"
    ):
        ApiSwitches(kubectl).set_app_unhealthy("ns", False)
    assert len(nudges(kubectl)) == NUDGE_ATTEMPTS
