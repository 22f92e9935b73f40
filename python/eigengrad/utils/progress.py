"""Progress bars: tqdm when it is installed (``pip install eigengrad[progress]``), else a small
built-in bar on stderr that draws only on a terminal."""
from __future__ import annotations

import sys
import time


class _TextBar:
    def __init__(self, iterable, total=None, desc="", disable=False, file=None):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc = desc
        self.file = file or sys.stderr
        self.disable = disable or not getattr(self.file, "isatty", lambda: False)()
        self.postfix = ""
        self.n = 0

    def set_postfix_str(self, s: str, refresh: bool = True) -> None:
        self.postfix = s

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
        pass


def progress(iterable, total=None, desc: str = "", disable: bool = False, leave: bool = False):
    """Wrap ``iterable`` in a progress bar; ``set_postfix_str`` shows running figures."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextBar(iterable, total=total, desc=desc, disable=disable)
    return tqdm(iterable, total=total, desc=desc, disable=disable, leave=leave, dynamic_ncols=True)
