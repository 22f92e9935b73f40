"""Progress bars: tqdm when it is installed (``pip install eigengrad[progress]``), else a small
built-in bar on stderr that draws only on a terminal."""
from __future__ import annotations

import sys
import time


class _TextBar:
    def __init__(self, iterable, total=None, desc="", disable=False, file=None, force=False):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        # (iterable None: manual mode, driven by update())
        self.desc = desc
        self.file = file or sys.stderr
        self.disable = disable or not (force or getattr(self.file, "isatty", lambda: False)())
        self.postfix = ""
        self.n = 0
        self._start = self._last_draw = time.perf_counter()

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        self.postfix = s
        if refresh and not self.disable:
            self._draw(self._start)

    def update(self, n: int = 1) -> None:
        """Manual mode (no iterable): ``n`` more steps done; redrawn at most 10 times a second."""
        self.n += n
        now = time.perf_counter()
        if not self.disable and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(self._start)

    def _draw(self, start: float) -> None:
        rate = self.n / max(time.perf_counter() - start, 1e-9)
        if self.total:
            filled = int(30 * self.n / self.total)
            bar = f"|{'#' * filled}{' ' * (30 - filled)}| {self.n}/{self.total}"
        else:
            bar = f"{self.n}"
        self.file.write(f"\r{self.desc} {bar} [{rate:.1f} it/s] {self.postfix}")
        self.file.flush()

    def __iter__(self):
        start = time.perf_counter()
        for item in self.iterable:
            yield item
            self.n += 1
            if not self.disable:
                self._draw(start)
        if not self.disable:
            self.file.write("\n")

    def close(self) -> None:
        """End the bar's line (manual mode; iterating ends it by itself)."""
        if not self.disable and self.iterable is None:
            self._draw(self._start)
            self.file.write("\n")


def progress(iterable, total=None, desc: str = "", disable: bool = False, leave: bool = False, force: bool = False):
    """Wrap ``iterable`` in a progress bar; ``set_postfix_str`` shows running figures. Without tqdm a text
    bar is drawn on a terminal only, or always with ``force``."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextBar(iterable, total=total, desc=desc, disable=disable, force=force)
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=leave, dynamic_ncols=True)
