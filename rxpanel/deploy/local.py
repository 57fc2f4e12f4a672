"""Programs run on the panel host for a build (git, uv, npm, reflex): an argv
list, never a shell; output streamed and redacted; a failure told by the error
that caused it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rxpanel.deploy import cgroup
from rxpanel.deploy.build_reason import failure_reason
from rxpanel.deploy.limits import JOIN_FAILED, Limits, killed_by_cpu_rlimit, looks_out_of_memory
from rxpanel.secrets import redact

Log = Callable[[str], None]
WATCH_INTERVAL = 0.5  # seconds between checks of the wall clock and the group's CPU time


class BuildError(RuntimeError):
    pass


CANCELLED = "cancelled by the operator: the build's processes were stopped"
_cancel = threading.local()  # the deployment's cancel event, for the thread that builds


@contextmanager
def cancelled_by(event: threading.Event | None) -> Iterator[None]:
    """Programs run in this thread meanwhile are killed (their whole tree) when the
    event is set: a cancelled deploy does not wait for its build to end."""
    before = getattr(_cancel, "event", None)
    _cancel.event = event
    try:
        yield
    finally:
        _cancel.event = before


def run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict | None = None,
    log: Log | None = None,
    secrets: list[str] = (),
    timeout: float = 600,
    what: str = "",
    jail=None,
    limits: Limits | None = None,
) -> str:
    """Run a local program; stream its output lines to log; raise BuildError on failure.

    In its own session, so the timeout kills its whole process tree, printing or
    not; with a `jail.Jail`, under bubblewrap (whose namespace dies with it); with
    `limits.Limits`, under its memory and CPU limits, in a cgroup of its own where
    the host allows one, and with its wall clock instead of `timeout`. A limit that
    stops it is named in the error, with the setting that raises it."""
    what = what or argv[0]
    if jail is not None:
        jail.prepare()
        argv, env, cwd = jail.argv(argv, cwd or jail.home), jail.env(env or {}), None
    group = None
    if limits is not None:
        timeout = limits.timeout
        group = build_group(limits)
        argv = limits.wrap(argv, group.procs if group else ())
    cancel = getattr(_cancel, "event", None)
    try:
        code, out, stopped = _watched(argv, cwd, env, log, secrets, timeout, limits, group, cancel)
        cause = stopped or _cause(code, out, limits, group)
        if log and group is not None:
            log(f"{what}: {usage(group)}")
    finally:
        if group is not None:
            group.kill()
            group.remove()
    if cause == "cancel":
        raise BuildError(CANCELLED)
    if cause == "wall" and limits is None:
        raise BuildError(f"{what} did not finish within {timeout:g} s")
    if cause:
        raise BuildError(limits.exceeded(what, cause))
    if code == JOIN_FAILED and group is not None:
        raise BuildError(f"{what} could not join its build cgroup ({group.memory})")
    if code:
        tail = failure_reason(out)
        raise BuildError(f"{what} failed (exit {code}){': ' + tail if tail else ''}")
    return "\n".join(out)


def _watched(
    argv, cwd, env, log, secrets, timeout, limits, group, cancel
) -> tuple[int, list[str], str]:
    """Run it, streaming its lines; (exit code, lines, the limit that stopped it or "")."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    done, stopped = threading.Event(), []
    cpu_limit = limits.cpu_seconds if limits is not None and group is not None else None

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not done.wait(min(WATCH_INTERVAL, max(deadline - time.monotonic(), 0))):
            if cancel is not None and cancel.is_set():
                stopped.append("cancel")
            elif time.monotonic() >= deadline:
                stopped.append("wall")
            elif cpu_limit is not None and (group.cpu_seconds() or 0) > cpu_limit:
                stopped.append("cpu")
            else:
                continue
            _kill(proc.pid, group)
            return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    out: list[str] = []
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            line = redact(line.rstrip(), secrets)
            out.append(line)
            if log:
                log(line)
        code = proc.wait()
    finally:
        done.set()
        watcher.join()
        _kill(proc.pid, None)  # what it left behind in its session goes with it
    return code, out, stopped[0] if stopped else ""


def _kill(pid: int, group) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if group is not None:
        group.kill()


def _cause(code: int, out: list[str], limits: Limits | None, group) -> str:
    """Which limit ended a failed step, read from what the kernel says (the group's
    OOM kills; SIGXCPU), "" when none did."""
    if limits is None or not code:
        return ""
    if group is not None and group.oom_kills():
        return "memory"
    if killed_by_cpu_rlimit(code):
        return "cpu"
    if group is None and looks_out_of_memory(out):  # RLIMIT_DATA: allocations fail
        return "memory"
    return ""


def usage(group) -> str:
    peak, cpu = group.peak_mb(), group.cpu_seconds()
    return ", ".join(
        part
        for part in (
            f"peak {peak} MB memory" if peak is not None else "",
            f"{cpu:.1f} s CPU" if cpu is not None else "",
        )
        if part
    )


_place: list = []  # [(cgroup.Place | None, why not)] once per process


def enforcement() -> str:
    """How memory is capped here: 'cgroup v2', 'cgroup v1', or why no cgroup."""
    if not _place:
        place, why = cgroup.locate()
        if place is not None:
            cgroup.sweep(place)
        _place.append((place, why))
    place, why = _place[0]
    return f"cgroup {place.kind}" if place is not None else why


def build_group(limits: Limits):
    """A new cgroup for one step, or None (the rlimits alone) where none can be made."""
    enforcement()
    place = _place[0][0]
    if place is None:
        return None
    try:
        return cgroup.create(place, limits.memory_mb)
    except OSError:
        return None


def clean_env() -> dict[str, str]:
    """The panel's environment minus its own secrets, its venv, and Reflex's
    settings for the panel itself: inside `reflex run`, the process carries
    __REFLEX_SKIP_COMPILE and friends, which would make the app's export skip
    its compile. The export sets the Reflex variables it needs."""
    drop = ("RXPANEL_", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "REFLEX_", "__REFLEX_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}
