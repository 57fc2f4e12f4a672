"""Cutover of live connections: after the switch, the tabs still connected to the old
colour (their websockets stay on it through nginx's old workers) get a bounded drain
for the events in flight, then the old colour is restarted: its websockets close, the
tabs reconnect through nginx to the live colour (with the shared state store they find
their state there), and it stays warm for an instant rollback, with no traffic.
Problems here are logged, not fatal: the new release serves."""

from __future__ import annotations

import time

from rxpanel.deploy.commands import composite
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run

sleep = time.sleep  # replaceable in tests


def drain(seconds: float, cancel) -> None:
    """Wait out the drain; a cancel shortens it (the release is live: nothing to undo)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if cancel is not None and cancel.is_set():
            return
        sleep(min(left, 0.5))


wait = drain  # the unit tests' deploys do not wait


def old_color(run: Run) -> str | None:
    """The colour that served before this run, if it holds another release."""
    before = run.app
    if before.live_color and before.current_release_id not in (None, run.release.id):
        return before.live_color
    return None


def applies(run: Run) -> bool:
    return old_color(run) is not None


def cut_over(run: Run) -> None:
    color, drain, log = old_color(run), run.app.drain_seconds, run.log
    with log.step("cutover"):
        log.line(f"open tabs on {color} get {drain:g} s to finish their events")
        wait(drain, log.cancel)

        def one(t: Target) -> None:
            try:
                said = t.run(composite.cut_over(t.layout, color), "moving open tabs").stdout
            except DeployFailed as e:
                log.line(f"warning: {t.tag}{e}", "error")
                return
            if "restarted" in said:
                log.line(f"{t.tag}{color} restarted: its open tabs reconnect to {run.color}")

        for t in run.targets:
            one(t)
