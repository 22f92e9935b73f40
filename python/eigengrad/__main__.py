"""Command line: ``python -m eigengrad train`` (see ``--help``) and ``python -m eigengrad config``."""
from __future__ import annotations

import argparse
import os
import sys


def program_name(argv0: str) -> str:
    """How the user started us: ``python -m eigengrad`` (argv[0] is this file) or the ``eigengrad`` script."""
    base = os.path.basename(argv0)
    return "python -m eigengrad" if base in ("__main__.py", "-m", "") else os.path.splitext(base)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=program_name(sys.argv[0]), description="eigengrad command line")
    sub = parser.add_subparsers(dest="command", required=True)
    from eigengrad.cli import train, tune

    train.add_arguments(sub.add_parser("train", help="train an MLP on the digits or Fashion-MNIST"))
    tune.add_arguments(sub.add_parser("tune", help="search the MLP's learning rate, weight decay and momentum"))
    sub.add_parser("config", help="print how eigengrad was built")
    args = parser.parse_args(argv)
    if args.command == "train":
        train.run(args)
    elif args.command == "tune":
        tune.run(args)
    else:
        import eigengrad

        eigengrad.show_config()
    return 0


if __name__ == "__main__":
    sys.exit(main())
