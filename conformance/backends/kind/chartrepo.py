"""A Helm chart repository served over loopback HTTP while Helm installs from it.

A local chart (``--chart`` / ``$KARTA_CONFORMANCE_CHART``, a folder or an archive) is packaged into a
folder with an ``index.yaml`` (``helm package``, ``helm repo index``), and that folder is served on
``127.0.0.1`` at a free port for as long as the ``with`` block lasts. Helm then adds the repository
and installs the chart by name and version, exactly as it does from KubeRay's published repository.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from conformance.backends.kind import mirror


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # Helm's requests are not the run's output
        pass


def publish(chart: Path, folder: Path, helm: str, check: Callable[[Sequence[str]], None]) -> None:
    """``folder`` becomes a Helm repository holding ``chart`` (a chart folder, or an archive as is)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    if chart.is_dir():
        check(mirror.helm_package(helm, str(chart), str(folder)))
    else:
        shutil.copy2(chart, folder / chart.name)
    check(mirror.helm_index(helm, str(folder)))


@contextmanager
def served(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on loopback; yields the repository's URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="helm-repository", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
