"""The fit loop's per-epoch progress bar: running loss and throughput, redrawn at most 5 times a second
so that it costs next to nothing per batch."""
from __future__ import annotations

import sys
import time

_REFRESH_SECONDS = 0.2


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def wanted(progress: bool | None) -> bool:
    """``progress`` if given, else: on a terminal or in a notebook."""
    if progress is not None:
        return bool(progress)
    return in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


class EpochBar:
    """Iterates over ``loader``; ``update(n, loss)`` after each batch, ``close(logs)`` at the epoch end."""

    def __init__(self, loader, desc: str, progress: bool | None) -> None:
        self.loader, self.samples, self.start = loader, 0, time.perf_counter()
        self._next_draw = self.start + _REFRESH_SECONDS
        self.bar = None
        if wanted(progress):
            from eigengrad.utils.progress import progress as make_bar

            total = len(loader) if hasattr(loader, "__len__") else None
            # asked for explicitly: drawn even off a terminal (the text bar otherwise draws only on one)
            self.bar = make_bar(None, total=total, desc=desc, leave=True, force=progress is True)

    def __iter__(self):
        return iter(self.loader)

    def update(self, n: int, running_loss: float) -> None:
        self.samples += n
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now >= self._next_draw:
            self._next_draw = now + _REFRESH_SECONDS
            self.bar.set_postfix_str(f"loss {running_loss:.4f}, {self.samples / (now - self.start):,.0f} samples/s",
                                     refresh=False)

    def throughput(self) -> float:
        return self.samples / max(time.perf_counter() - self.start, 1e-9)

    def close(self, logs: dict) -> None:
        if self.bar is None:
            return
        figures = ", ".join(f"{k} {v:.4g}" for k, v in logs.items())
        self.bar.set_postfix_str(f"{figures}, {self.throughput():,.0f} samples/s", refresh=True)
        self.bar.close()
