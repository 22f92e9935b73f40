"""``python -m eigengrad.compat script.py [args...]``: run a PyTorch script with ``torch`` as eigengrad
(see :mod:`eigengrad.compat`). The script runs as ``__main__`` with its own arguments in ``sys.argv``
and its directory first on ``sys.path``, as ``python script.py`` would run it."""
from __future__ import annotations

import os
import runpy
import sys

from eigengrad.compat import torch_alias

USAGE = "usage: python -m eigengrad.compat SCRIPT.py [ARGS...]\n" \
        "Runs a PyTorch script with `torch` resolving to eigengrad's modules."


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    script = argv[0]
    if not os.path.isfile(script):
        print(f"eigengrad.compat: no such file {script!r}\n{USAGE}", file=sys.stderr)
        return 2
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    with torch_alias():
        runpy.run_path(script, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
