"""The Ray nodes a head's GCS lists alive: a Python driver on the head, through ``kubectl exec``; and a
Ray job submitted from the head (resource demand for the autoscaler), the same way.

Where every Pod runs real Ray (real kubelets: kind, an existing cluster), a worker Pod that is
Running and Ready is still no proof that its raylet joined the head; the head's own node table is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

# The driver prints the node list on a line of its own: it also prints what Ray's processes log
# (seen: a raylet's "There are tasks with infeasible resource requests ..." as the last line).
NODES_MARK = "karta-conformance-alive-nodes: "
ALIVE_NODES = (
    "import json, ray; ray.init(address='auto', logging_level='ERROR', log_to_driver=False); "
    f"print({NODES_MARK!r} + json.dumps(sorted(n['NodeManagerAddress'] for n in ray.nodes() if n['Alive'])))"
)


class NoNodeList(ValueError):
    """The driver printed no node list (Ray not up on the head yet, or the driver failed)."""


def alive_nodes_line(output: str) -> list[str]:
    """The node list from the driver's output (the marked line; anything else Ray printed is ignored)."""
    marked = [line for line in output.splitlines() if line.startswith(NODES_MARK)]
    if not marked:
        raise NoNodeList(f"the driver on the head printed no node list: {output.strip()[-300:]!r}")
    listed = json.loads(marked[-1].removeprefix(NODES_MARK))
    return sorted(str(address) for address in listed)


def alive_ray_nodes(kubectl: Callable[..., str], namespace: str, pod: str, container: str) -> list[str]:
    """The node addresses (Pod IPs) the GCS of head Pod ``pod`` lists alive, sorted."""
    output = kubectl("-n", namespace, "exec", pod, "-c", container, "--", "python", "-c", ALIVE_NODES)
    return alive_nodes_line(output)


def submit_job(
    kubectl: Callable[..., str],
    namespace: str,
    pod: str,
    container: str,
    entrypoint: Sequence[str],
    submission_id: str = "",
) -> str:
    """Submit ``entrypoint`` (a command and its arguments; Ray quotes each) as a Ray job to the head's own
    dashboard, without waiting for it (``ray job submit --no-wait``, run on head Pod ``pod``), under
    ``submission_id`` when given; what the command printed."""
    return kubectl(
        "-n",
        namespace,
        "exec",
        pod,
        "-c",
        container,
        "--",
        "ray",
        "job",
        "submit",
        "--no-wait",
        "--address",
        "http://127.0.0.1:8265",
        *(["--submission-id", submission_id] if submission_id else []),
        "--",
        *entrypoint,
    )
