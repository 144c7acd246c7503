"""Every child process the tool starts (ngspice, KLayout, pip, espeak-ng, forked workers) is
registered here, so that an interrupt can stop all of them at once: a SIGTERM sent to the
`bmru` process alone must not leave simulators running (ARCHITECTURE §4)."""
from __future__ import annotations

import os
import signal
import subprocess
import threading

_lock = threading.RLock()  # re-entrant: the signal handler may run while the main thread holds it
_live: set[int] = set()
_stopping = False


class Stopped(RuntimeError):
    """A child was not started (or was killed) because the tool is stopping."""


def track(pid: int) -> None:
    """Register a child started elsewhere (a forked worker); stops it at once when stopping."""
    with _lock:
        _live.add(pid)
        stopping = _stopping
    if stopping:
        _kill(pid)


def untrack(pid: int) -> None:
    with _lock:
        _live.discard(pid)


def stopping() -> bool:
    return _stopping


def run(cmd: list[str], *, timeout: float | None = None, **kwargs) -> subprocess.CompletedProcess:
    """`subprocess.run(cmd, capture_output=True, text=True)` with the child registered.
    Raises subprocess.TimeoutExpired (child killed) like subprocess.run, and Stopped when
    the tool is stopping."""
    if _stopping:
        raise Stopped(f"not started: {cmd[0]} (interrupted)")
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs) as proc:
        track(proc.pid)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        finally:
            untrack(proc.pid)
    if _stopping:
        raise Stopped(f"{cmd[0]} was stopped (interrupted)")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def stop_all() -> None:
    """Kill every registered child and refuse new ones (called from the signal handler)."""
    global _stopping
    with _lock:
        _stopping = True
        pids = list(_live)
    for pid in pids:
        _kill(pid)


def forget_all() -> None:
    """In a forked child: the parent's children are not ours to stop."""
    global _stopping
    with _lock:
        _live.clear()
        _stopping = False


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
