"""The crawl child process: started in its own session, bound to die with the scheduler, waited for against a
deadline and a shutdown, and stopped as a whole process group (Scrapy and any browser it started)."""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from typing import IO


def _libc_prctl():
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):   # not Linux
        return None


_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the crawl child, before exec: get SIGTERM when the scheduler dies (even by kill -9), so no crawl
    runs on unsupervised. Only a pre-bound C call here: this runs between fork and exec."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(cmd: list[str], env: dict, out: IO[bytes], err: IO[bytes], keep_fd: int) -> subprocess.Popen:
    """Start the crawl in a new session (its own process group), passing `keep_fd` (the site lock) on."""
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
                            start_new_session=True, pass_fds=(keep_fd,), preexec_fn=_die_with_parent)


def wait(proc: subprocess.Popen, timeout: float, abort: threading.Event, kill_grace: float) -> str:
    """`exited`, or `aborted` (shutdown) / `timeout` after stopping the whole process group."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=0.2)
            return "exited"
        except subprocess.TimeoutExpired:
            pass
        if abort.is_set():
            stop_group(proc, kill_grace)
            return "aborted"
        if time.monotonic() >= deadline:
            stop_group(proc, kill_grace)
            return "timeout"


def stop_group(proc: subprocess.Popen, kill_grace: float) -> None:
    """SIGTERM the crawl's process group (Scrapy and any browser), SIGKILL it after the kill grace."""
    for sig, grace in ((signal.SIGTERM, kill_grace), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    try:   # leftovers of the group (a browser the crawl started) must not outlive it
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
