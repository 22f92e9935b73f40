"""``torch.profiler`` as training scripts use it: ``record_function`` regions timed inside a ``profile``
context, ``key_averages().table()`` (count, total and mean wall time per region) and
``export_chrome_trace`` (the regions as a Chrome trace JSON). eigengrad records no per-kernel events: the
regions are what the script names."""
from __future__ import annotations

import enum
import json
import os
import tempfile
import time
from collections import defaultdict

_active: list = []


class ProfilerActivity(enum.Enum):
    CPU = 0
    CUDA = 1


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0):
    """The step schedule's signature; every step is recorded here."""
    return lambda step: True


def tensorboard_trace_handler(dir_name: str, worker_name=None, use_gzip: bool = False):
    """on_trace_ready handler: writes the Chrome trace into ``dir_name``."""
    def handler(prof) -> None:
        os.makedirs(dir_name, exist_ok=True)
        prof.export_chrome_trace(os.path.join(dir_name, f"{worker_name or os.getpid()}.pt.trace.json"))
    return handler


class _Averages(list):
    def table(self, sort_by=None, row_limit: int = 100, **kwargs) -> str:
        rows = sorted(self, key=lambda r: -r["total_s"])[:row_limit]
        lines = [f"{'Name':<40} {'Calls':>8} {'Total (ms)':>12} {'Mean (ms)':>12}"]
        lines += [f"{r['name']:<40} {r['count']:>8} {r['total_s'] * 1e3:>12.3f} {r['total_s'] * 1e3 / r['count']:>12.3f}"
                  for r in rows]
        return "\n".join(lines)


class profile:  # noqa: N801  (PyTorch's name)
    """Collects the ``record_function`` regions run inside it."""

    def __init__(self, activities=None, schedule=None, on_trace_ready=None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False, **kwargs) -> None:
        self.events: list = []
        self.on_trace_ready = on_trace_ready

    def __enter__(self):
        _active.append(self)
        return self

    def __exit__(self, *exc) -> bool:
        _active.remove(self)
        if self.on_trace_ready is not None:
            self.on_trace_ready(self)
        return False

    def start(self):
        return self.__enter__()

    def stop(self) -> None:
        self.__exit__(None, None, None)

    def step(self) -> None:
        """Marks a step (the schedule is not applied: every region is kept)."""

    def key_averages(self, group_by_input_shape: bool = False) -> _Averages:
        totals = defaultdict(lambda: [0, 0.0])
        for name, start, end in self.events:
            totals[name][0] += 1
            totals[name][1] += end - start
        return _Averages({"name": n, "count": c, "total_s": t} for n, (c, t) in totals.items())

    def export_chrome_trace(self, path: str) -> None:
        """The regions as Chrome trace events (written atomically)."""
        trace = {"traceEvents": [{"name": n, "ph": "X", "ts": s * 1e6, "dur": (e - s) * 1e6, "pid": os.getpid(),
                                  "tid": 0} for n, s, e in self.events]}
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "w") as f:
            json.dump(trace, f)
        os.replace(tmp, path)


class record_function:  # noqa: N801
    """A named region (context manager or decorator) timed into the active profilers."""

    def __init__(self, name: str, args=None) -> None:
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> bool:
        end = time.perf_counter()
        for prof in _active:
            prof.events.append((self.name, self.start, end))
        return False

    def __call__(self, fn):
        def wrapped(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapped
