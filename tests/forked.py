"""Calls run in a forked child process, so a crash (a signal) or a hang (a timeout) is an outcome the test can
report, not the end of the test session.

``run_forked(fn)`` forks, runs ``fn()`` in the child and sends what happened back through a pipe: the value
it returned or the exception it raised. The parent reads until the child closes the pipe or the timeout
passes (then the child is killed), and reaps it: a child killed by a signal (SIGSEGV, SIGFPE, SIGABRT, ...)
is the outcome "signal".

Forking a process whose OpenMP runtime has started is unsafe: libgomp's thread pool is not copied by
fork(), and the child's first parallel region waits on threads that do not exist. Two rules avoid it:

- a child forked from the test process (which may have run kernels on several threads) sets eigengrad's
  thread count to 1 before the call: ``parallel_for`` then runs on the calling thread and never enters an
  OpenMP region, so the copied runtime is never touched;
- the fuzz suite's many calls go through a :class:`ForkServer`: a fresh interpreter that imports
  eigengrad and the case tables but never runs a kernel itself, so its children start OpenMP from
  scratch and may use every thread. (A small process also forks several times faster than the test
  process, which may hold PyTorch.)

Each child's address space is capped (``EIGENGRAD_FUZZ_MEMORY``, default 4 GiB above what it inherits), so a
huge allocation fails with MemoryError instead of taking the machine's memory.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import time
from typing import Any, Callable

_MEMORY_HEADROOM = int(float(os.environ.get("EIGENGRAD_FUZZ_MEMORY", 4 * 2**30)))


@dataclasses.dataclass
class Outcome:
    """What a forked call did: ``kind`` is "returned", "raised", "signal", "timeout" or "died" (exited
    without reporting)."""

    kind: str
    value: Any = None
    error_type: str = ""
    message: str = ""
    signal: int = 0
    seconds: float = 0.0

    @property
    def crashed(self) -> bool:
        return self.kind in ("signal", "timeout", "died")

    def matches(self, pattern: str) -> bool:
        return re.search(pattern, self.message) is not None

    def __str__(self) -> str:
        if self.kind == "returned":
            return f"returned {_short(repr(self.value))}"
        if self.kind == "raised":
            return f"raised {self.error_type}: {_short(self.message)}"
        if self.kind == "signal":
            return f"killed by signal {self.signal} ({signal.Signals(self.signal).name})"
        if self.kind == "timeout":
            return f"hung: no result after {self.seconds:.1f} s (killed)"
        return f"died without a result ({self.message})"


def _short(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _cap_memory() -> None:
    try:
        import resource

        with open("/proc/self/statm") as f:
            vm = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = vm + _MEMORY_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (OSError, ValueError, ImportError):  # not Linux: no cap
        pass


def _child(fn: Callable[[], Any], threads: int | None, w: int) -> None:
    """Runs in the child: never returns."""
    try:
        _cap_memory()
        if threads:
            import eigengrad

            eigengrad.set_num_threads(threads)
        try:
            payload = ("returned", fn())
        except BaseException as e:  # noqa: BLE001 - every exception is an outcome to report
            payload = ("raised", type(e).__name__, str(e))
        try:
            data = pickle.dumps(payload)
        except Exception as e:  # an unpicklable value: report its repr
            data = pickle.dumps(("returned", f"<unpicklable {type(payload[1]).__name__}: {e}>"))
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
    finally:
        os._exit(0)


def run_forked(fn: Callable[[], Any], timeout: float = 10.0, threads: int | None = 1) -> Outcome:
    """``fn()`` in a forked child; ``threads``: eigengrad's thread count there (1 unless the parent never
    ran OpenMP: see the module docstring; None leaves it)."""
    r, w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(fn, threads, w)
    os.close(w)
    chunks, deadline = [], start + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return Outcome("timeout", seconds=time.monotonic() - start)
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
    _, status = os.waitpid(pid, 0)
    seconds = time.monotonic() - start
    if os.WIFSIGNALED(status):
        return Outcome("signal", signal=os.WTERMSIG(status), seconds=seconds)
    if not chunks:
        return Outcome("died", message=f"exit status {os.waitstatus_to_exitcode(status)}", seconds=seconds)
    payload = pickle.loads(b"".join(chunks))
    if payload[0] == "returned":
        return Outcome("returned", value=payload[1], seconds=seconds)
    return Outcome("raised", error_type=payload[1], message=payload[2], seconds=seconds)


# --- the fork server ----------------------------------------------------------------------------------

def _send(stream, obj) -> None:
    data = pickle.dumps(obj)
    stream.write(struct.pack("<Q", len(data)) + data)
    stream.flush()


def _receive(stream):
    head = stream.read(8)
    if len(head) < 8:
        raise EOFError("the fork server closed its pipe")
    (size,) = struct.unpack("<Q", head)
    return pickle.loads(stream.read(size))


class ForkServer:
    """A fresh interpreter that runs ``module.function(argument)`` calls, each in a forked child of its own.

    ``preload``: modules the server imports once (the children inherit them). ``paths``: added to its
    ``sys.path``."""

    def __init__(self, preload: list[str], paths: list[str]) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
                   PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
        self._proc = subprocess.Popen([sys.executable, __file__, *preload], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        ready = _receive(self._proc.stdout)
        if ready != "ready":
            raise RuntimeError(f"the fork server did not start: {ready}")

    def run(self, module: str, function: str, argument, timeout: float = 10.0) -> Outcome:
        _send(self._proc.stdin, (module, function, argument, timeout))
        return _receive(self._proc.stdout)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


def _serve(preload: list[str]) -> None:
    """The server's loop: read a call, run it in a forked child, send the outcome back."""
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    sys.stdout = sys.stderr  # stray prints must not corrupt the protocol
    try:
        for name in preload:
            importlib.import_module(name)
    except BaseException as e:  # noqa: BLE001 - reported to the client
        _send(out, f"{type(e).__name__}: {e}")
        return
    _send(out, "ready")
    while True:
        try:
            module, function, argument, timeout = _receive(inp)
        except EOFError:
            return
        fn = getattr(importlib.import_module(module), function)
        # threads=None: this process never ran a kernel, so its children start OpenMP afresh
        _send(out, run_forked(lambda: fn(argument), timeout=timeout, threads=None))


if __name__ == "__main__":
    _serve(sys.argv[1:])
