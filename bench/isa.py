"""``--isa LEVEL`` for the benchmark scripts: the kernel level is chosen when eigengrad is imported, so
the option is read (and ``EIGENGRAD_ISA`` set) before anything imports eigengrad."""
from __future__ import annotations

import argparse
import os
import sys

LEVELS = ("baseline", "avx2", "avx512")


def apply_isa_option(argv: list[str] | None = None) -> str | None:
    """Sets EIGENGRAD_ISA from ``--isa`` in argv (sys.argv by default); returns the level asked for."""
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--isa", choices=LEVELS)
    known, _ = p.parse_known_args(sys.argv[1:] if argv is None else argv)
    if known.isa:
        os.environ["EIGENGRAD_ISA"] = known.isa
    return known.isa


def add_isa_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--isa", choices=LEVELS,
                        help="the kernels' instruction-set level (EIGENGRAD_ISA); default: the best this CPU has")
