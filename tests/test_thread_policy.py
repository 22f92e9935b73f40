"""The thread policy on a busy machine: a parallel region that waited for its threads longer than it
worked, while another process's task was runnable, less than 100 ms after another such region, puts the
default thread count on one thread for a while (one such region alone does not); an explicit count is never
changed.
(The time it saves is measured by bench/bench_busy.py, not here.)"""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import eigengrad as eg
from eigengrad import _kernels
from eigengrad._kernels import _C
from forked import needs_fork, run_forked

needs_openmp = pytest.mark.skipif(not eg.get_config()["openmp"], reason="a build without OpenMP has one thread")

STALL = (0.010, 0.0005)  # a 10 ms region whose threads worked 0.5 ms: it waited for a preempted thread
REPEAT = 0.11  # seconds: longer than the 100 ms within which a second stall backs off
QUIET = (0.0012, 0.0010)


def run_python(code, env):
    env = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def wait_until_quiet(timeout=5.0):
    end = time.monotonic() + timeout
    while _C.backing_off() and time.monotonic() < end:
        _C.report_region(*QUIET)  # a quiet region resets the next backoff to its first length
        time.sleep(0.01)


@needs_openmp
def test_a_stall_puts_the_default_count_on_one_thread_for_a_while(restore_threads):
    if os.environ.get("OMP_NUM_THREADS"):
        pytest.skip("OMP_NUM_THREADS is set: the count is explicit and never adapts (tested in a subprocess)")
    _C.set_num_threads(0)  # OpenMP's default: the only count that adapts
    wait_until_quiet()
    _C.report_region(*QUIET)
    assert not _C.backing_off()
    count = _C.backoff_count()
    time.sleep(REPEAT)  # no stall in the last 100 ms
    _C.report_region(*STALL)
    assert not _C.backing_off()  # one stall alone: another task ran for a moment
    _C.report_region(*STALL)  # a second one within 100 ms: a busy machine
    assert _C.backing_off()
    assert _C.backoff_count() == eg.get_config()["threads_backoffs"] == count + 1
    assert eg.get_num_threads() == _C.get_num_threads()  # the user's count is reported as it is
    time.sleep(0.06)  # the first backoff lasts 50 ms
    assert not _C.backing_off()
    _C.report_region(*STALL)  # (within 100 ms of the last on a quiet machine; the next one certainly is)
    _C.report_region(*STALL)  # stalls going on double the backoff: 100 ms at least
    time.sleep(0.06)
    assert _C.backing_off()
    assert count + 2 <= _C.backoff_count() <= count + 3
    wait_until_quiet()


@needs_openmp
def test_stalls_far_apart_are_one_offs():
    """A task that runs for a moment now and then (a daemon, a VM's hiccup) stalls one region at a time:
    backing off for 50 ms would cost more than the stall did. Then two stalls within 100 ms do back off. (In a
    child without OMP_NUM_THREADS: only the default count adapts.)"""
    code = ("import time\n"
            "from eigengrad._kernels import _C\n"
            f"STALL, REPEAT = {STALL}, {REPEAT}\n"
            "_C.set_num_threads(0)\n"
            "seen = []\n"
            "for _ in range(3):\n"
            "    time.sleep(REPEAT)\n"
            "    _C.report_region(*STALL)\n"
            "    seen.append(_C.backing_off())\n"
            "count = _C.backoff_count()\n"
            "_C.report_region(*STALL)\n"
            "print(seen, count, _C.backing_off(), _C.backoff_count())")
    assert run_python(code, {"OMP_NUM_THREADS": None}) == "[False, False, False] 0 True 1"


@needs_openmp
def test_a_small_wait_or_a_long_region_is_not_a_stall(restore_threads):
    if os.environ.get("OMP_NUM_THREADS"):
        pytest.skip("OMP_NUM_THREADS is set: the count is explicit and never adapts")
    _C.set_num_threads(0)
    wait_until_quiet()
    _C.report_region(0.000150, 0.000010)  # waited 140 us: a fork of sleeping workers, not a preemption
    assert not _C.backing_off()
    _C.report_region(0.050, 0.040)  # waited 10 ms but worked longer: a long region with some imbalance
    assert not _C.backing_off()


@needs_openmp
def test_a_region_after_an_idle_spell_is_not_judged(restore_threads):
    """Sleeping OpenMP workers (and idle vCPUs) take milliseconds to wake: the first region after an idle
    spell may wait long without a busy machine. Back-to-back regions are judged as before."""
    if os.environ.get("OMP_NUM_THREADS"):
        pytest.skip("OMP_NUM_THREADS is set: the count is explicit and never adapts")
    _C.set_num_threads(0)
    wait_until_quiet()
    _C.end_region(*QUIET)
    time.sleep(0.03)  # idle for 20 ms before the next (10 ms) region began: its wait is the workers waking
    _C.end_region(*STALL)
    assert not _C.backing_off()
    _C.end_region(*STALL)  # right after the previous region: a stall
    _C.end_region(*STALL)  # and another: backs off
    assert _C.backing_off()
    wait_until_quiet()


@needs_openmp
def test_a_stall_with_nothing_else_runnable_is_not_a_busy_machine():
    """A worker woken after an idle spell can share its master's core for a few milliseconds (the second
    region after the spell stalls too): with no more tasks runnable than the region's threads, nothing is
    contending, and backing off would only cost the next 50 ms their second core. (In a child without
    OMP_NUM_THREADS: only the default count adapts.)"""
    code = ("from eigengrad._kernels import _C\n"
            f"STALL, QUIET = {STALL}, {QUIET}\n"
            "_C.set_num_threads(0)\n"
            "_C.end_region(*QUIET)\n"
            "_C.end_region(*STALL, team=1 << 30)\n"  # back to back, stalled, but no other task runnable
            "a = _C.backing_off()\n"
            "_C.report_region(*STALL, contended=False)\n"
            "b = _C.backing_off()\n"
            "_C.end_region(*STALL, team=0)\n"  # the same region with a task runnable (this one, at least)
            "_C.end_region(*STALL, team=0)\n"  # twice: a busy machine
            "print(a, b, _C.backing_off())")
    assert run_python(code, {"OMP_NUM_THREADS": None}) == "False False True"


def test_the_runnable_count_reads_the_machine():
    """/proc/loadavg's running count: the caller itself runs, a huge team outnumbers every task, and with
    another process spinning more tasks run than this one. Off Linux every stall counts as contention."""
    with pytest.raises(ValueError, match="team: expected a thread count >= 0, got -1"):
        _C.others_runnable(-1)
    if not os.path.exists("/proc/loadavg"):
        assert _C.others_runnable(1 << 30)
        return
    assert _C.others_runnable(0)
    assert not _C.others_runnable(1 << 30)
    spin = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        end = time.monotonic() + 5
        seen = False
        while not seen and time.monotonic() < end:  # the spinner needs a moment to start
            seen = _C.others_runnable(1)
            time.sleep(0.01)
        assert seen
    finally:
        spin.kill()
        spin.wait()


@needs_openmp
def test_an_explicit_count_is_never_changed(restore_threads):
    eg.set_num_threads(2)
    _C.report_region(*STALL)
    assert not _C.backing_off() and eg.get_num_threads() == 2
    code = ("from eigengrad._kernels import _C; _C.report_region(0.01, 0.0005); _C.report_region(0.01, 0.0005); "
            "print(_C.backing_off(), _C.get_num_threads())")
    assert run_python(code, {"OMP_NUM_THREADS": "2"}) == "False 2"
    assert run_python(code, {"OMP_NUM_THREADS": None}).startswith("True")


@needs_openmp
def test_results_do_not_change_while_backing_off():
    """The same bits on one thread while backing off as at the default count (in a child without
    OMP_NUM_THREADS, which would make the count explicit: it never backs off)."""
    code = ("import numpy as np\n"
            "from eigengrad import _kernels\n"
            "from eigengrad._kernels import _C\n"
            "rng = np.random.default_rng(0)\n"
            "a = rng.standard_normal((300, 257)).astype(np.float32)\n"
            "b = rng.standard_normal((257, 190)).astype(np.float32)\n"
            "_C.set_num_threads(0)\n"
            "quiet = _kernels.gemm(a, b)\n"
            f"_C.report_region(*{STALL})\n"
            f"_C.report_region(*{STALL})\n"
            "print(_C.backing_off(), np.array_equal(_kernels.gemm(a, b), quiet))")
    assert run_python(code, {"OMP_NUM_THREADS": None}) == "True True"


@needs_openmp
@needs_fork
def test_a_forked_child_runs_its_kernels_on_one_thread_instead_of_hanging():
    """GNU OpenMP keeps its worker pool across a fork without the threads: a child's first parallel region
    waited for them forever. A child of a process that ran parallel regions runs its kernels on one thread,
    with the same bits (thread-count determinism)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 64, 14, 14)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    conv = lambda: _kernels.conv2d_forward(x, w, None, (1, 1), (1, 1, 1, 1), (1, 1), 1)  # noqa: E731
    before = eg.get_num_threads()
    eg.set_num_threads(2)
    try:
        parent = conv()  # a parallel region on this thread; the child keeps the count of 2
        outcome = run_forked(lambda: conv().tobytes() == parent.tobytes(), timeout=30.0, threads=None)
    finally:
        eg.set_num_threads(before)
    assert outcome.kind == "returned" and outcome.value is True, str(outcome)
