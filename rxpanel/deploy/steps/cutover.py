"""Cutover of live connections: after the switch, the tabs still connected to the old
colour (their websockets stay on it through nginx's old workers) get a bounded drain
for the events in flight (it ends early when they have all gone, e.g. reloaded to the
new release by its script), then the old colour is restarted: its websockets close,
the tabs reconnect through nginx to the live colour (with the shared state store
they find their state there), and it stays warm for an instant rollback, with no
traffic. With no open connection there is nothing to wait for and nothing restarts.
Problems here are logged, not fatal: the new release serves."""

from __future__ import annotations

from rxpanel.deploy.commands import composite
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run


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
        if log.cancel is not None and log.cancel.is_set():
            log.line(f"cancelled: tabs on {color} stay until the standby stops")
            return
        log.line(f"open tabs on {color} get up to {drain:g} s to finish their events")

        def one(t: Target) -> None:
            cmd = composite.cut_over(t.layout, color, t.ports[color], drain)
            try:
                said = t.run(cmd, "moving open tabs").stdout
            except DeployFailed as e:
                log.line(f"warning: {t.tag}{e}", "error")
                return
            if "restarted" in said:
                log.line(f"{t.tag}{color} restarted: its open tabs reconnect to {run.color}")
            elif "no open connections" in said:
                log.line(f"{t.tag}no open tabs on {color}: nothing to move")

        run.each(one, "moving open tabs")
