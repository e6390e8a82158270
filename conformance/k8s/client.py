"""A small Kubernetes client for the harness (cluster I/O lives here and in providers, never in claims).

Objects go in and come out as plain dicts, as the API server serves them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_exponential,
)

from conformance.errors import EnvironmentProblem

T = TypeVar("T")
logging.getLogger("kubernetes").setLevel(logging.WARNING)
urllib3.disable_warnings()


class WaitTimeout(Exception):
    """A bounded wait ran out; ``last`` is the value seen last, ``error`` the last API error (if any).

    The message says both, so a timeout never reads "last seen: None" without the reason.
    """

    def __init__(self, what: str, seconds: float, last: Any, error: BaseException | None = None) -> None:
        self.what = what
        self.last = last
        self.error = error
        message = f"timed out after {seconds:.0f} s waiting for {what}; last seen: {str(last)[:400]}"
        if error is not None:
            message += f"; last API error: {describe_error(error)}"
        elif last is None or last is False:
            message += " (no API error; the condition never held)"
        super().__init__(message)


def describe_error(error: BaseException) -> str:
    """An API error on one line: status, reason and the start of the body (ApiException's own text
    spans lines with every response header)."""
    if isinstance(error, ApiException):
        body = getattr(error, "body", None) or ""
        with contextlib.suppress(ValueError, AttributeError, TypeError):  # a Status: its message says why
            body = json.loads(body).get("message") or body
        shown = " ".join(str(body).split())[:200]
        return f"{error.status} {error.reason}" + (f": {shown}" if shown else "")
    return " ".join(f"{type(error).__name__}: {error}".split())[:300]


def wait_until(what: str, probe: Callable[[], T | None], timeout: float) -> T:
    """Poll ``probe`` (bounded, backing off to 1 s) until it returns something other than None/False.

    API errors while polling are retried until the deadline; on timeout WaitTimeout carries the
    last value seen and the last API error, for the message and the diagnostics bundle.
    """
    last: Any = None
    error: BaseException | None = None

    def attempt() -> T | None:
        nonlocal last, error
        try:
            last = probe()
        except (ApiException, urllib3.exceptions.HTTPError) as raised:
            error = raised
            raise
        return last  # type: ignore[no-any-return]

    poller = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_exponential(multiplier=0.1, max=1.0),
        retry=retry_if_result(lambda value: value is None or value is False)
        | retry_if_exception_type((ApiException, urllib3.exceptions.HTTPError)),
    )
    try:
        result = poller(attempt)
        assert result is not None
        return result
    except RetryError:
        raise WaitTimeout(what, timeout, last, error) from None


POOL_SIZE = 64


class Kube:
    """Shared by the scenarios of a run, which may run side by side on threads.

    Requests are thread-safe (the kubernetes client's urllib3 pool); its discovery cache is not
    (a refresh replaces the cache while another thread reads or writes it, and each update rewrites
    one cache file), so every discovery call goes through ``discovery_lock``."""

    def __init__(self, kubeconfig: str) -> None:
        try:
            configuration = client.Configuration()
            config.load_kube_config(
                config_file=kubeconfig, client_configuration=configuration, persist_config=False
            )
            # The client's default pool is 5 per core (10 on 2 cores); scenarios side by side each keep
            # watches and polls open, and a full pool only discards connections with a warning per request.
            configuration.connection_pool_maxsize = POOL_SIZE
            self.api_client = client.ApiClient(configuration)
        except Exception as error:  # the kubernetes client raises many kinds here
            raise EnvironmentProblem(f"cannot use kubeconfig {kubeconfig}: {error}") from None
        self.kubeconfig = kubeconfig
        self.discovery_lock = threading.RLock()
        self.dynamic = DynamicClient(self.api_client)
        self.core = client.CoreV1Api(self.api_client)

    # -- discovery -----------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> Any:
        with self.discovery_lock:
            return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def resources(self) -> list[Any]:
        """Every resource the server serves, as the client's discovery knows them."""
        with self.discovery_lock:
            return list(self.dynamic.resources.search())

    def rediscover(self) -> None:
        """Drop the discovery cache and ask the server afresh."""
        with self.discovery_lock:
            self.dynamic.resources.invalidate_cache()

    # -- plain CRUD as dicts -------------------------------------------------

    def create(self, obj: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        created = resource.create(body=obj, namespace=namespace if resource.namespaced else None)
        result: dict[str, Any] = created.to_dict()
        return result

    def get(
        self, api_version: str, kind: str, name: str, namespace: str | None = None
    ) -> dict[str, Any] | None:
        resource = self.resource(api_version, kind)
        try:
            found: dict[str, Any] = resource.get(name=name, namespace=namespace).to_dict()
            return found
        except NotFoundError:
            return None

    def list_objects(
        self, api_version: str, kind: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        resource = self.resource(api_version, kind)
        kwargs: dict[str, Any] = {}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if resource.namespaced and namespace:
            kwargs["namespace"] = namespace
        items: list[dict[str, Any]] = resource.get(**kwargs).to_dict().get("items", [])
        for item in items:
            item.setdefault("apiVersion", api_version)
            item.setdefault("kind", kind)
        return items

    def patch_merge(
        self, api_version: str, kind: str, name: str, namespace: str, patch: dict[str, Any]
    ) -> None:
        self.resource(api_version, kind).patch(
            name=name, namespace=namespace, body=patch, content_type="application/merge-patch+json"
        )

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> None:
        with contextlib.suppress(NotFoundError):
            self.resource(api_version, kind).delete(name=name, namespace=namespace)

    # -- namespaces ----------------------------------------------------------

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels or {}}}
        self.core.create_namespace(body=body)

    def delete_namespace(self, name: str) -> None:
        with contextlib.suppress(ApiException):
            self.core.delete_namespace(name=name)

    def events(self, namespace: str) -> list[dict[str, Any]]:
        return self.list_objects("v1", "Event", namespace)

    # -- waiting -------------------------------------------------------------

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        """:func:`wait_until` (the last value or API error seen is in the WaitTimeout)."""
        return wait_until(what, probe, timeout)
