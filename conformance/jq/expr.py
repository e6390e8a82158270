"""Compile and run jq expressions as Karta does: sealed and bounded.

Every Karta path is a jq program, and definitions come from strangers. Karta runs
them with gojq compiled without an environment loader and without a module
loader, with a 10 s timeout and at most 1000 results per query
(``pkg/jq/execution/runner.go``). The harness evaluates with libjq (PyPI ``jq``),
never in its own process: a worker process (:mod:`conformance.jq.worker`), reused
across queries, runs every compile and every query

- with an empty environment (``$ENV`` and ``env`` are ``{}``, as in Karta),
- sealed against module loading (``import``/``include`` cannot compile),
- with stderr on /dev/null (``debug``/``stderr`` reach nobody), no file writes,
- within an address-space limit (:data:`MEMORY_LIMIT`),
- within Karta's per-query time limit (:data:`TIMEOUT`): past it the worker is
  killed and a fresh one takes the next query,
- within Karta's result cap (:data:`MAX_RESULTS`: a query reaching it fails).

:func:`hermetic_problems` finds, from the text, expressions that use the
environment, modules or input-reading and side-channel builtins: the
``hermetic`` claim refuses those before anything runs. This module is the only
place that talks to jq, so error wording is the same everywhere.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import os
import re
import select
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from conformance.jq import lex as jqlex

TIMEOUT = 10.0  # seconds per query, Karta's defaultTimeoutInMilliseconds
MAX_RESULTS = 1000  # Karta's defaultMaxResults: a query reaching it fails
MEMORY_LIMIT = 1 << 30  # bytes of address space for the worker
MAX_OUTPUT = 64 << 20  # bytes of JSON a query may yield

# Builtins (libjq 1.8's list, `builtins`) and syntax a hermetic definition must not use.
FORBIDDEN: dict[str, str] = {
    "$ENV": "reads the process environment",
    "env": "reads the process environment",
    "import": "loads a module or data file",
    "include": "loads a module",
    "module": "is a module directive",
    "modulemeta": "loads module metadata",
    "get_search_list": "reads the module search path",
    "get_prog_origin": "reads the program's location on disk",
    "get_jq_origin": "reads the jq binary's location on disk",
    "input": "reads further inputs",
    "inputs": "reads further inputs",
    "input_filename": "reads the input's file name",
    "input_line_number": "reads the input's line number",
    "$__loc__": "reads its own source location",
    "debug": "writes to a side channel (stderr)",
    "stderr": "writes to a side channel (stderr)",
    "halt": "stops the jq program",
    "halt_error": "stops the jq program and writes to stderr",
}


class JqError(Exception):
    """A jq program that does not compile or fails at run time."""


class JqLimit(JqError):
    """A query over one of the limits (time, results, memory, output size)."""


def hermetic_problems(expression: str) -> list[str]:
    """What in ``expression`` is not hermetic, one phrase each (``$ENV: reads the process environment``).

    Text the tokenizer cannot read yields nothing here: it cannot compile either,
    and the worker's seal holds regardless.
    """
    try:
        found = jqlex.walk(jqlex.tokens(expression))
    except jqlex.JqLexError:
        return []
    defined = {b.text for a, b in itertools.pairwise(found) if a.kind == "ident" and a.text == "def"}
    problems: list[str] = []
    for index, token in enumerate(found):
        if token.kind not in ("ident", "var") or token.text not in FORBIDDEN:
            continue
        following = found[index + 1] if index + 1 < len(found) else None
        previous = found[index - 1] if index else None
        if token.kind == "ident":
            if token.text in defined or (previous is not None and previous.text == "def"):
                continue  # the definition's own function of that name
            if following is not None and following.kind == "op" and following.text == ":":
                continue  # an object key
        problem = f"{token.text}: {FORBIDDEN[token.text]}"
        if problem not in problems:
            problems.append(problem)
    return problems


def compile_check(expression: str) -> str | None:
    """Return None if ``expression`` compiles (sealed), else a one-line reason."""
    if expression in _compiled_ok:
        return None
    try:
        _WORKER.request({"op": "compile", "expr": expression})
    except JqError as error:
        return str(error)
    _compiled_ok.add(expression)
    return None


def run(expression: str, value: Any) -> list[Any]:
    """All outputs of ``expression`` applied to ``value``; JqError (JqLimit past a limit) otherwise."""
    document = json.dumps(value, separators=(",", ":"), allow_nan=True, default=_unserializable)
    key = (expression, hashlib.blake2b(document.encode(), digest_size=16).digest())
    with _memo_lock:
        known = _memo.get(key)
        if known is not None:
            _memo.move_to_end(key)
    if known is None:
        try:
            reply = _WORKER.request({"op": "run", "expr": expression, "input": document})
            known = ("ok", json.dumps(reply["results"]))
        except JqLimit as error:
            known = ("limit", str(error))
        except JqError as error:
            known = ("error", str(error))
        with _memo_lock:
            _memo[key] = known
            if len(_memo) > 4096:
                _memo.popitem(last=False)
    outcome, text = known
    if outcome == "limit":
        raise JqLimit(text)
    if outcome == "error":
        raise JqError(text)
    results: list[Any] = json.loads(text)
    return results


def stringify(value: Any) -> str:
    """How a jq result is compared with an expected string.

    Strings compare as themselves; everything else as compact JSON
    (``true``, ``3``, ``null``, ``{"a":1}``).
    """
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _unserializable(value: Any) -> Any:
    raise JqError(f"input holds a {type(value).__name__}, which is not JSON")


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    # The seal adds one line in front of the program: report the author's line numbers.
    text = re.sub(
        r"at <top-level>, line (\d+)", lambda m: f"at <top-level>, line {max(1, int(m.group(1)) - 1)}", text
    )
    text = text.replace("def __karta_sealed__: .; ", "")
    if not text.startswith("jq"):
        text = f"jq: {text}"
    return text


_compiled_ok: set[str] = set()
_memo: OrderedDict[tuple[str, bytes], tuple[str, str]] = OrderedDict()
_memo_lock = threading.Lock()


class _Worker:
    """The worker process, started on first use and again after it was killed or died."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.process: subprocess.Popen[bytes] | None = None
        self.owner = 0
        self.timeout = TIMEOUT

    def _start(self) -> subprocess.Popen[bytes]:
        script = Path(__file__).with_name("worker.py")
        limits = [str(MEMORY_LIMIT), str(MAX_RESULTS), str(MAX_OUTPUT), str(os.getpid())]
        process = subprocess.Popen(
            [sys.executable, "-I", str(script), *limits],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={},
            cwd="/",
            start_new_session=True,
        )
        self.process, self.owner = process, os.getpid()
        return process

    def _alive(self) -> subprocess.Popen[bytes]:
        process = self.process
        if process is None or self.owner != os.getpid() or process.poll() is not None:
            if process is not None and self.owner == os.getpid():
                process.wait()
            return self._start()
        return process

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or self.owner != os.getpid():
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            process = self._alive()
            assert process.stdin is not None and process.stdout is not None
            body = json.dumps(message).encode()
            deadline = time.monotonic() + self.timeout
            try:
                process.stdin.write(struct.pack(">I", len(body)) + body)
                process.stdin.flush()
                header = self._read(process, 4, deadline)
                reply: dict[str, Any] = json.loads(
                    self._read(process, struct.unpack(">I", header)[0], deadline)
                )
            except BrokenPipeError:
                raise self._died(process) from None
        if "limit" in reply:
            raise JqLimit(f"jq: {reply['limit']}")
        if "error" in reply:
            raise JqError(_one_line(reply["error"]))
        return reply

    def _read(self, process: subprocess.Popen[bytes], size: int, deadline: float) -> bytes:
        assert process.stdout is not None
        fd = process.stdout.fileno()
        chunks: list[bytes] = []
        wanted = size
        while wanted:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                self.stop()
                raise JqLimit(f"jq: query exceeds the time limit of {self.timeout:g} s (Karta's limit)")
            chunk = os.read(fd, min(wanted, 1 << 20))
            if not chunk:
                raise self._died(process)
            chunks.append(chunk)
            wanted -= len(chunk)
        return b"".join(chunks)

    def _died(self, process: subprocess.Popen[bytes]) -> JqError:
        code = process.wait()
        self.process = None
        if code < 0 and -code in (6, 9, 11):  # SIGABRT (libjq out of memory), SIGKILL, SIGSEGV (stack)
            return JqLimit(
                f"jq: query exceeds the memory limit of {MEMORY_LIMIT >> 20} MiB (the harness's limit; the jq worker ended with signal {-code})"
            )
        return JqError(f"jq: the jq worker ended (exit code {code})")


_WORKER = _Worker()
atexit.register(_WORKER.stop)
