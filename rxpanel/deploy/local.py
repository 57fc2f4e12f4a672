"""Programs run on the panel host for a build (git, uv, npm, reflex): an argv
list, never a shell; output streamed and redacted; a failure told by the error
that caused it."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

from rxpanel.deploy.build_reason import failure_reason
from rxpanel.secrets import redact

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


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
) -> str:
    """Run a local program; stream its output lines to log; raise BuildError on failure.

    In its own session, so the timeout kills its whole process tree, printing or
    not; with a `jail.Jail`, under bubblewrap (whose namespace dies with it)."""
    if jail is not None:
        jail.prepare()
        argv, env, cwd = jail.argv(argv, cwd or jail.home), jail.env(env or {}), None
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
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, expire)
    timer.daemon = True
    timer.start()
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
        timer.cancel()
        try:  # what it left behind in its session goes with it
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    if expired.is_set():
        raise BuildError(f"{what or argv[0]} did not finish within {timeout:g} s")
    if code:
        tail = failure_reason(out)
        raise BuildError(f"{what or argv[0]} failed (exit {code}){': ' + tail if tail else ''}")
    return "\n".join(out)


def clean_env() -> dict[str, str]:
    """The panel's environment minus its own secrets, its venv, and Reflex's
    settings for the panel itself: inside `reflex run`, the process carries
    __REFLEX_SKIP_COMPILE and friends, which would make the app's export skip
    its compile. The export sets the Reflex variables it needs."""
    drop = ("RXPANEL_", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "REFLEX_", "__REFLEX_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}
