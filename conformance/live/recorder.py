"""Record a scenario's namespace as a Flow: every change of every watched kind, in order (cluster I/O).

One thread per kind lists the namespace (each object a LISTED frame) and then watches from that list's
resourceVersion, re-listing when the API server says the version is too old (410 Gone). Frames from all
threads go into one list under a lock, in the order they arrived. A kind that cannot be listed or
watched (its CRD not installed, RBAC) is left out and named in the flow's ``gaps``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from kubernetes.client.exceptions import ApiException

from conformance.flow import Flow, Frame, Marker
from conformance.k8s.client import Kube, describe_error

WATCH_SECONDS = 5  # one watch request's server-side timeout: how soon a stopped recorder notices


class FlowRecorder:
    """Records ``kinds`` in ``namespace`` from :meth:`start` to :meth:`stop`; :meth:`mark` puts a phase
    marker at the current end of the flow."""

    def __init__(
        self,
        kube: Kube,
        scenario: str,
        namespace: str,
        kinds: Iterable[tuple[str, str]],
        kuberay_version: str | None,
    ) -> None:
        self.kube = kube
        self.flow = Flow(
            scenario=scenario,
            namespace=namespace,
            kuberay_version=kuberay_version,
            kinds=sorted(set(kinds)),
            started=time.time(),
        )
        self.gaps: dict[str, str] = {}  # "apiVersion/kind" -> why it is not recorded
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ready = threading.Barrier(len(self.flow.kinds) + 1) if self.flow.kinds else None

    def start(self) -> FlowRecorder:
        """Starts a thread per kind; returns once each has listed its kind (or given up on it)."""
        for api_version, kind in self.flow.kinds:
            thread = threading.Thread(
                target=self._record, args=(api_version, kind), name=f"flow-{kind}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        if self._ready is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                self._ready.wait(timeout=60)
        return self

    def mark(self, phase: str, root: tuple[str, str, str], statuses: Iterable[str]) -> None:
        with self._lock:
            self.flow.markers.append(Marker(phase, len(self.flow.frames), time.time(), root, tuple(statuses)))

    def stop(self) -> Flow:
        """The flow as recorded until now. The threads end on their own within one watch request
        (``WATCH_SECONDS``): nothing they see after this is added, and no scenario waits for them."""
        with self._lock:
            self._stopped.set()
            return replace(self.flow, frames=list(self.flow.frames), markers=list(self.flow.markers))

    # -- one kind --------------------------------------------------------------------------------

    def _add(self, event: str, api_version: str, kind: str, obj: dict[str, Any]) -> None:
        metadata = obj.get("metadata") or {}
        metadata.pop("managedFields", None)  # the API server's bookkeeping: no claim reads it
        obj.setdefault("apiVersion", api_version)
        obj.setdefault("kind", kind)
        frame = Frame(
            type=event,
            time=time.time(),
            api_version=api_version,
            kind=kind,
            name=str(metadata.get("name") or ""),
            resource_version=str(metadata.get("resourceVersion") or ""),
            object=obj,
        )
        with self._lock:
            if not self._stopped.is_set():
                self.flow.frames.append(frame)

    def _list(self, api_version: str, kind: str) -> str:
        """Every object of the kind as a LISTED frame; the list's resourceVersion."""
        resource = self.kube.resource(api_version, kind)
        listed = resource.get(namespace=self.flow.namespace).to_dict()
        for item in listed.get("items") or []:
            self._add("LISTED", api_version, kind, item)
        return str((listed.get("metadata") or {}).get("resourceVersion") or "")

    def _record(self, api_version: str, kind: str) -> None:
        try:
            version = self._list(api_version, kind)
        except Exception as error:  # not served, RBAC: a gap, named in the flow
            self.gaps[f"{api_version}/{kind}"] = describe_error(error)
            return
        finally:
            if self._ready is not None:
                with contextlib.suppress(threading.BrokenBarrierError):
                    self._ready.wait(timeout=60)
        resource = self.kube.resource(api_version, kind)
        while not self._stopped.is_set():
            try:
                for event in resource.watch(
                    namespace=self.flow.namespace, resource_version=version, timeout=WATCH_SECONDS
                ):
                    raw = event.get("raw_object") or {}
                    kind_of = event.get("type")
                    if kind_of == "ERROR":
                        if raw.get("code") == 410:  # too old: list again
                            version = self._list(api_version, kind)
                        break
                    version = str((raw.get("metadata") or {}).get("resourceVersion") or version)
                    self._add(str(kind_of), api_version, kind, raw)
                    if self._stopped.is_set():
                        break
            except ApiException as error:
                if error.status == 410:
                    version = self._list(api_version, kind)
                    continue
                self.gaps[f"{api_version}/{kind}"] = f"watch stopped: {describe_error(error)}"
                return
            except Exception as error:  # a dropped connection: keep watching from the last version
                if self._stopped.wait(1):
                    return
                self.gaps.setdefault(
                    f"{api_version}/{kind}", f"watch interrupted once: {describe_error(error)}"
                )
