"""The jq worker: a separate process that compiles and runs jq programs for the harness.

Started by :mod:`conformance.jq.expr` with an empty environment, ``/`` as its
working directory and stderr on /dev/null. It imports only the standard
library and the ``jq`` binding (never the harness), limits itself (address
space, no core files, no file writes, dies with its parent), then answers
requests on stdin with replies on stdout: 4-byte big-endian length, then JSON.

    {"op": "compile", "expr": TEXT}                    -> {"ok": true} | {"error": MSG}
    {"op": "run", "expr": TEXT, "input": JSON-TEXT}    -> {"results": [...]} | {"error": MSG} | {"limit": MSG}

Programs are compiled *sealed*: behind a one-line function definition, so
``import``/``include``/``module`` directives (which must come first in a jq
program) are syntax errors and no module or data file is ever loaded. The
parent enforces the time limit by killing this process.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import struct
import sys
from collections import OrderedDict
from typing import Any

SEAL = "def __karta_sealed__: .;\n"


def _limit_self(memory_bytes: int, parent: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.clear()  # also C's environ: $ENV and env are {} (Python's locale coercion set LC_CTYPE)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the harness
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the harness ended before the death signal was armed
        os._exit(0)


def _read(stream: Any, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data and len(data) == size else None


def _reply(stream: Any, message: dict[str, Any]) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def main() -> int:
    memory_bytes, max_results, max_output, parent = (int(a) for a in sys.argv[1:5])
    import jq  # before the memory limit: loading the library maps more than it keeps

    _limit_self(memory_bytes, parent)
    compiled: OrderedDict[str, Any] = OrderedDict()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer

    def program(text: str) -> Any:
        if text in compiled:
            compiled.move_to_end(text)
            return compiled[text]
        found = jq.compile(SEAL + text)
        compiled[text] = found
        if len(compiled) > 2048:
            compiled.popitem(last=False)
        return found

    while True:
        header = _read(stdin, 4)
        if header is None:
            return 0
        body = _read(stdin, struct.unpack(">I", header)[0])
        if body is None:
            return 0
        request = json.loads(body)
        try:
            if request["op"] == "compile":
                program(request["expr"])
                _reply(stdout, {"ok": True})
                continue
            results: list[Any] = []
            for value in program(request["expr"]).input_text(request["input"]):
                results.append(value)
                if len(results) >= max_results:
                    break
            if len(results) >= max_results:
                _reply(
                    stdout,
                    {"limit": f"query results exceed the allowed number {max_results} (Karta's limit)"},
                )
                continue
            text = json.dumps({"results": results}, separators=(",", ":"), allow_nan=True)
            if len(text) > max_output:
                _reply(
                    stdout,
                    {"limit": f"query output exceeds {max_output // (1 << 20)} MiB (the harness's limit)"},
                )
                continue
            stdout.write(struct.pack(">I", len(text)) + text.encode())
            stdout.flush()
        except ValueError as error:
            _reply(stdout, {"error": str(error)})
        except MemoryError:
            compiled.clear()
            _reply(
                stdout,
                {
                    "limit": f"query exceeds the memory limit of {memory_bytes // (1 << 20)} MiB (the harness's limit)"
                },
            )
        except RecursionError:
            _reply(stdout, {"error": "a result is nested too deeply"})
        except Exception as error:  # any other failure of the binding is this query's error
            _reply(stdout, {"error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    raise SystemExit(main())
