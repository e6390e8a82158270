"""Admission: every definition under test applied to the live cluster as a ``run.ai/v1alpha1`` ``Karta``.

The cluster gets the Karta CRD when it has none (``versions.yaml`` ``karta_crd``; a cluster that runs
Karta keeps its own). Each definition (a ``ResourceInterface`` converted first) is created as a
cluster-scoped ``Karta`` named ``kc-<session>-<name>``, labelled as Karta's operator labels it
(the root kind's group, version and kind) and with this session's labels; it is read back, and a
consumer's lookup is made for its root kind. :mod:`conformance.claims.lookup` turns what was seen into
verdicts; the scenarios' claims are then evaluated on the definitions *as read back*. Every ``Karta``
this session created is deleted afterwards, and the CRD too when this session installed it.
"""

from __future__ import annotations

import copy
import hashlib
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client.exceptions import ApiException

from conformance import versions
from conformance.claims.lookup import Admitted, KartaSeen, dropped_paths, label_selector, lookup_labels
from conformance.definition import rules
from conformance.definition.convert import convert_document
from conformance.definition.dialects.karta import KARTA
from conformance.definition.loader import load_document
from conformance.definition.model import Definition
from conformance.errors import UserError
from conformance.k8s.client import Kube, WaitTimeout, describe_error

CRD_API = "apiextensions.k8s.io/v1"
CRD_NAME = "kartas.run.ai"
SESSION_LABEL = "karta-conformance.run.ai/session"
SET_LABEL = "karta-conformance.run.ai/install-set"
SOURCE_ANNOTATION = "karta-conformance.run.ai/source"
PART_OF = {"app.kubernetes.io/part-of": "karta-conformance"}
CRD_TIMEOUT = 60.0  # seconds for the CRD to be Established and served


class AdmissionUnavailable(Exception):
    """The cluster cannot take Karta objects (e.g. no right to install the CRD)."""


def install_set(definition: Definition) -> str:
    """A definition's install set: the folder its file is in."""
    return str(Path(definition.source.split("#", 1)[0]).parent)


def _set_label(folder: str) -> str:
    return hashlib.sha256(folder.encode()).hexdigest()[:12]


def _object_name(session: str, definition: Definition) -> str:
    slug = re.sub(r"[^a-z0-9-]", "-", definition.name.lower()).strip("-")[:200] or "definition"
    return f"kc-{session}-{slug}"


@dataclass
class Admission:
    """The Karta objects of one live session (an empty one until :meth:`prepare`)."""

    kube: Kube
    progress: Callable[[str], None]
    session: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    crd_label: str = ""
    installed_crd: bool = False
    sets: dict[str, str] = field(default_factory=dict)  # install-set label -> folder, of what was admitted

    def prepare(self) -> None:
        """The Karta CRD in the cluster: the cluster's own, or ``versions.yaml``'s, installed and waited for."""
        pinned = versions.load().karta_crd
        try:
            existing = self.kube.get(CRD_API, "CustomResourceDefinition", CRD_NAME)
            if existing is not None and existing.get("metadata", {}).get("deletionTimestamp"):
                self.progress("admission: waiting for the Karta CRD being deleted to be gone ...")
                self.kube.wait_for("the Karta CRD being deleted to be gone", self._crd_gone, CRD_TIMEOUT)
                existing = None
            labels = ((existing or {}).get("metadata") or {}).get("labels") or {}
            if (
                existing is not None
                and labels.get("app.kubernetes.io/part-of") != PART_OF["app.kubernetes.io/part-of"]
            ):
                self.crd_label = "the cluster's own Karta CRD"
            else:
                if existing is None:
                    crd = yaml.safe_load(pinned.text())
                    crd.setdefault("metadata", {}).setdefault("labels", {}).update(PART_OF)
                    self.progress(f"admission: installing the Karta CRD ({pinned.label}) ...")
                    self.kube.create(crd)
                    self.installed_crd = True
                self.crd_label = pinned.label
            self.kube.wait_for("the Karta CRD to be established and served", self._served, CRD_TIMEOUT)
        except (ApiException, WaitTimeout) as error:
            raise AdmissionUnavailable(f"cannot install the Karta CRD: {describe_error(error)}") from None

    def _served(self) -> bool | None:
        crd = self.kube.get(CRD_API, "CustomResourceDefinition", CRD_NAME)
        conditions = ((crd or {}).get("status") or {}).get("conditions") or []
        if not any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            return None
        self.kube.rediscover()  # under the discovery lock: scenarios run beside admission
        try:
            self.kube.resource(KARTA.api_version, KARTA.kind)
        except Exception:  # the discovery cache does not list it yet
            return None
        return True

    def admit(self, definitions: Sequence[Definition]) -> list[Admitted]:
        """Each definition created as a Karta and read back; then the consumer's lookup for each."""
        created: list[tuple[Definition, str, dict[str, Any] | None, str | None]] = []
        self.sets.update({_set_label(install_set(d)): install_set(d) for d in definitions})
        for definition in definitions:
            name = _object_name(self.session, definition)
            body = self._body(definition, name)
            try:
                self.kube.create(body)
            except ApiException as refusal:
                created.append((definition, name, None, describe_error(refusal)))
                continue
            created.append((definition, name, body, None))
        admitted = []
        for definition, name, sent, refused in created:
            folder = install_set(definition)
            if sent is None:
                admitted.append(Admitted(definition, name, folder, refused=refused, crd=self.crd_label))
                continue
            read: dict[str, Any] = self.kube.get(KARTA.api_version, KARTA.kind, name) or {}
            back, error = self._load_back(definition, read)
            listed = (
                tuple(
                    self._seen(item)
                    for item in self.kube.list_objects(
                        KARTA.api_version,
                        KARTA.kind,
                        label_selector=label_selector(lookup_labels(definition)),
                    )
                )
                if lookup_labels(definition)
                else ()
            )
            admitted.append(
                Admitted(
                    definition,
                    name,
                    folder,
                    dropped=tuple(dropped_paths(sent.get("spec"), read.get("spec"))),
                    read_back=back,
                    read_back_error=error,
                    listed=listed,
                    crd=self.crd_label,
                )
            )
        self.progress(
            f"admission: {sum(1 for a in admitted if a.refused is None)}/{len(admitted)} definitions "
            f"admitted as Karta objects ({self.crd_label})"
        )
        return admitted

    def _body(self, definition: Definition, name: str) -> dict[str, Any]:
        document = copy.deepcopy(definition.document)
        if definition.dialect != KARTA.name:
            document, _lost = convert_document(document, KARTA)  # nothing is lost in this direction
        labels = dict((document.get("metadata") or {}).get("labels") or {})
        labels.update(lookup_labels(definition))  # as Karta's operator stamps them
        labels.update(PART_OF)
        labels[SESSION_LABEL] = self.session
        labels[SET_LABEL] = _set_label(install_set(definition))
        return {
            "apiVersion": KARTA.api_version,
            "kind": KARTA.kind,
            "metadata": {
                "name": name,
                "labels": labels,
                "annotations": {SOURCE_ANNOTATION: definition.source},
            },
            "spec": document.get("spec") or {},
        }

    def _load_back(
        self, definition: Definition, read: dict[str, Any]
    ) -> tuple[Definition | None, str | None]:
        """The object read back as a definition named and sourced like the file (verdicts name the file)."""
        document = {
            "apiVersion": read.get("apiVersion", KARTA.api_version),
            "kind": read.get("kind", KARTA.kind),
            "metadata": {"name": definition.name, "labels": dict(definition.labels)},
            "spec": read.get("spec"),
        }
        try:
            back = load_document(document, definition.source)
        except UserError as error:
            return None, str(error)
        problems = rules.check(back)
        if problems:
            return back, f"{problems[0].where}: {problems[0].message}"
        return back, None

    def _seen(self, item: dict[str, Any]) -> KartaSeen:
        metadata = item.get("metadata") or {}
        labels = metadata.get("labels") or {}
        spec = item.get("spec") or {}
        structure = spec.get("structureDefinition") or {}
        root = structure.get("rootComponent") or {}
        kind = root.get("kind") if isinstance(root.get("kind"), dict) else None
        gang = (spec.get("optimizationInstructions") or {}).get("gangScheduling") or {}
        invalid: str | None = None
        try:
            problems = rules.check(load_document({**item, "status": None}, f"Karta {metadata.get('name')}"))
            invalid = f"{problems[0].where}: {problems[0].message}" if problems else None
        except UserError as error:
            invalid = str(error)
        mine = labels.get(SESSION_LABEL) == self.session
        return KartaSeen(
            name=str(metadata.get("name")),
            labels=labels,
            root_gvk=(kind.get("group", ""), kind.get("version", ""), kind.get("kind", "")) if kind else None,
            gang=bool(gang.get("podGroups") or gang.get("podGroup")),
            deleting=bool(metadata.get("deletionTimestamp")),
            empty=not root.get("name") and not structure.get("childComponents"),
            invalid=invalid,
            install_set=self._set_of(labels) if mine else None,
        )

    def _set_of(self, labels: dict[str, str]) -> str:
        label = labels.get(SET_LABEL, "")
        return self.sets.get(label, f"install set {label}")

    def withdraw(self) -> None:
        """Delete this session's Karta objects, and the CRD when this session installed it and
        nothing else uses it (waiting until it is gone, so a next session can install it again)."""
        try:
            for name in self.remaining():
                self.kube.delete(KARTA.api_version, KARTA.kind, name)
            if self.installed_crd and not self.kube.list_objects(KARTA.api_version, KARTA.kind):
                self.kube.delete(CRD_API, "CustomResourceDefinition", CRD_NAME)
                self.kube.wait_for("the Karta CRD to be deleted", self._crd_gone, CRD_TIMEOUT)
                self.installed_crd = False
        except (ApiException, WaitTimeout) as error:
            self.progress(
                f"admission: could not delete this session's Karta objects: {describe_error(error)}"
            )

    def _crd_gone(self) -> bool | None:
        return True if self.kube.get(CRD_API, "CustomResourceDefinition", CRD_NAME) is None else None

    def remaining(self) -> list[str]:
        """The names of this session's Karta objects still in the cluster (none once the CRD is gone)."""
        if self.kube.get(CRD_API, "CustomResourceDefinition", CRD_NAME) is None:
            return []
        return [
            item["metadata"]["name"]
            for item in self.kube.list_objects(
                KARTA.api_version, KARTA.kind, label_selector=f"{SESSION_LABEL}={self.session}"
            )
        ]
