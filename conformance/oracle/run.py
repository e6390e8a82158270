"""Run ``karta-oracle`` on one definition file and saved Snapshots; parse what Karta read."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.oracle.build import Oracle

TIMEOUT_SECONDS = 300.0  # per definition file, whatever its jq does (Karta bounds each query to 10 s)


class OracleFailed(Exception):
    """karta-oracle did not answer (timeout, crash, unreadable input); the message says why."""


def read(
    oracle: Oracle, definitions: Path, snapshots: Sequence[Path], timeout: float = TIMEOUT_SECONDS
) -> dict[str, Any]:
    """Karta's reading of ``definitions`` (every ResourceInterface document) on ``snapshots``."""
    argv = [
        str(oracle.binary),
        "-definitions",
        str(definitions),
        "-crd",
        str(oracle.crd),
        "-karta-version",
        oracle.version,
    ]
    for snapshot in snapshots:
        argv += ["-snapshot", str(snapshot)]
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise OracleFailed(f"karta-oracle gave no answer within {timeout:.0f} s on {definitions}") from None
    if completed.returncode != 0:
        reason = completed.stderr.strip().splitlines()[-1:] or [f"exit {completed.returncode}"]
        raise OracleFailed(reason[0])
    try:
        answer: dict[str, Any] = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise OracleFailed(f"karta-oracle printed no JSON: {error}") from None
    return answer
