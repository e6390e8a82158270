"""``karta-conformance cluster up|down|status --provider local``."""

from __future__ import annotations

from conformance.backends.local.cluster import LocalCluster


def cluster_command(action: str, name: str = "karta", kuberay_version: str | None = None) -> int:
    cluster = LocalCluster(name)
    if action == "up":
        state = cluster.up(kuberay_version)
        print(state.kubeconfig)
        return 0
    if action == "down":
        cluster.down()
        return 0
    status = cluster.status()
    state = status["state"]
    if state is None and not any(status["processes"].values()):
        print(f"cluster {name!r}: not running")
        return 0
    print(f"cluster {name!r}: {'ready' if status['operator_ready'] else 'NOT ready'}")
    if state:
        print(f"  kubeconfig: {state['kubeconfig']}")
        print(f"  KubeRay {state['kuberay_version']}, Kubernetes {state['kubernetes_version']}")
    for process, pid in status["processes"].items():
        print(f"  {process:28} {'pid ' + str(pid) if pid else 'NOT running'}")
    print(f"  folder: {status['home']}")
    return 0 if status["operator_ready"] else 1
