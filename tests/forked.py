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

import pytest

# A test that forks a child to see what it inherits (a lock held across fork(), OpenMP's worker pool) runs
# where os.fork exists: Linux and macOS. Windows has no fork(): its processes start fresh and inherit
# neither, so what these tests check cannot happen there.
needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork (Linux, macOS): Windows processes "
                                "start fresh and inherit no lock or thread pool, so the hang checked here cannot occur")

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


class _Child:
    """A forked child running one call; the parent side of its pipe."""

    def __init__(self, fn: Callable[[], Any], timeout: float, threads: int | None) -> None:
        r, w = os.pipe()
        self.start = time.monotonic()
        self.deadline = self.start + timeout
        self.pid = os.fork()
        if self.pid == 0:
            os.close(r)
            _child(fn, threads, w)
        os.close(w)
        self.fd, self.chunks = r, []

    def read(self) -> bool:
        """Reads what is there; True at the end of the child's report."""
        chunk = os.read(self.fd, 1 << 16)
        self.chunks.append(chunk)
        return not chunk

    def finish(self) -> Outcome:
        os.close(self.fd)
        _, status = os.waitpid(self.pid, 0)
        seconds = time.monotonic() - self.start
        if os.WIFSIGNALED(status):
            return Outcome("signal", signal=os.WTERMSIG(status), seconds=seconds)
        data = b"".join(self.chunks)
        if not data:
            return Outcome("died", message=f"exit status {os.waitstatus_to_exitcode(status)}", seconds=seconds)
        payload = pickle.loads(data)
        if payload[0] == "returned":
            return Outcome("returned", value=payload[1], seconds=seconds)
        return Outcome("raised", error_type=payload[1], message=payload[2], seconds=seconds)

    def kill(self) -> Outcome:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)
        return Outcome("timeout", seconds=time.monotonic() - self.start)


def run_many(fns: list[Callable[[], Any]], timeout: float = 10.0, threads: int | None = 1,
             parallel: int = 1) -> list[Outcome]:
    """Each ``fn()`` in a forked child of its own, ``parallel`` children at a time; the outcomes in order.
    ``threads``: eigengrad's thread count in the children (1 unless this process never ran OpenMP: see the
    module docstring; None leaves it)."""
    pending, running, outcomes = list(enumerate(fns)), {}, [None] * len(fns)
    while pending or running:
        while pending and len(running) < parallel:
            i, fn = pending.pop(0)
            running[i] = _Child(fn, timeout, threads)
        wait = max(0.0, min(c.deadline for c in running.values()) - time.monotonic())
        ready = set(select.select([c.fd for c in running.values()], [], [], wait)[0])
        for i, child in list(running.items()):
            if child.fd in ready:
                if child.read():
                    outcomes[i] = child.finish()
                    del running[i]
            elif time.monotonic() >= child.deadline:
                outcomes[i] = child.kill()
                del running[i]
    return outcomes


def run_forked(fn: Callable[[], Any], timeout: float = 10.0, threads: int | None = 1) -> Outcome:
    """``fn()`` in a forked child (see :func:`run_many`)."""
    return run_many([fn], timeout, threads)[0]


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
    ``sys.path``. ``parallel``: children at a time (``EIGENGRAD_FUZZ_JOBS``, default the cores, at most 4)."""

    def __init__(self, preload: list[str], paths: list[str], parallel: int | None = None) -> None:
        self.calls = 0
        self.parallel = parallel or int(os.environ.get("EIGENGRAD_FUZZ_JOBS", min(os.cpu_count() or 1, 4)))
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_WAIT_POLICY="PASSIVE",
                   PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
        self._proc = subprocess.Popen([sys.executable, __file__, *preload], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        ready = _receive(self._proc.stdout)
        if ready != "ready":
            raise RuntimeError(f"the fork server did not start: {ready}")

    def run(self, module: str, function: str, argument, timeout: float = 10.0) -> Outcome:
        """``module.function(argument)`` in a child of the server."""
        return self.run_many(module, function, [argument], timeout)[0]

    def run_many(self, module: str, function: str, arguments: list, timeout: float = 10.0) -> list[Outcome]:
        """``module.function(a)`` for each ``a``, in children of the server, ``self.parallel`` at a time."""
        _send(self._proc.stdin, (module, function, list(arguments), timeout, self.parallel))
        outcomes = _receive(self._proc.stdout)
        self.calls += len(outcomes)
        return outcomes

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)


def _serve(preload: list[str]) -> None:
    """The server's loop: read a call, run it in a forked child, send the outcome back."""
    # The protocol gets private copies of stdin/stdout; fd 1 becomes stderr and fd 0 /dev/null, so nothing a
    # child prints (Python or C++) can corrupt the protocol, and no child can read from it.
    out, inp = os.fdopen(os.dup(1), "wb"), os.fdopen(os.dup(0), "rb")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        for name in preload:
            importlib.import_module(name)
    except BaseException as e:  # noqa: BLE001 - reported to the client
        _send(out, f"{type(e).__name__}: {e}")
        return
    _send(out, "ready")
    while True:
        try:
            module, function, arguments, timeout, parallel = _receive(inp)
        except EOFError:
            return
        fn = getattr(importlib.import_module(module), function)
        calls = [lambda a=a: fn(a) for a in arguments]
        # threads=None: this process never ran a kernel, so its children start OpenMP afresh
        _send(out, run_many(calls, timeout=timeout, threads=None, parallel=parallel))


if __name__ == "__main__":
    import forked  # this file as the module "forked", so the outcomes it sends unpickle as forked.Outcome

    forked._serve(sys.argv[1:])
