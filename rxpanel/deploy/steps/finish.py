"""After the switch: the old colour stays warm for a while (the panel's scheduler
stops it later), and retention removes what it gave up. Problems here are logged,
not fatal: the new release serves."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from rxpanel.deploy.commands import composite
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.plan import ReleaseInfo
from rxpanel.deploy.recipe import Run
from rxpanel.retention import choose_removals, usable


def finish(run: Run) -> None:
    with run.log.step("finish"):
        gone, kept_venvs = retention(run)
        run.each(lambda t: _finish(run, t, gone, kept_venvs), "finishing")
        run.journal.releases_removed(sorted(gone))
        if gone:
            run.log.line("removed old releases: " + ", ".join(sorted(gone)))


def _finish(run: Run, t: Target, gone: set[str], kept_venvs: list[str]) -> None:
    before, rel = run.app, run.release
    old_color = before.live_color
    old = before.current_release_id if old_color else None
    warm = (old_color, old) if old and old != rel.id else None
    try:
        t.run(composite.finish(t.layout, warm, gone, kept_venvs), "finishing (standby, retention)")
    except DeployFailed as e:
        run.log.line(f"warning: {t.tag}{e}", "error")  # the new release serves: not a failure
        return
    if warm is not None:
        minutes = before.standby_minutes
        until = datetime.now(UTC) + timedelta(minutes=minutes)
        run.journal.standby_until(t.plan.server_id, old_color, old, until)
        run.log.line(f"{t.tag}{old_color} keeps release {old} warm for {minutes:g} min for instant rollback")


def after_switch(run: Run) -> list[ReleaseInfo]:
    """The app's releases as the switch left them: the new one live, the one
    before good (the records the worker keeps change the same way)."""
    now, rel, before = datetime.now(UTC), run.release, run.app.current_release_id
    found = {r.id: r for r in run.plan.releases}
    found.setdefault(rel.id, rel)
    if before and before != rel.id and before in found and found[before].status == "live":
        found[before] = dataclasses.replace(found[before], status="good")
    found[rel.id] = dataclasses.replace(found[rel.id], status="live", live_at=now)
    return sorted(found.values(), key=lambda r: r.id)


def retention(run: Run) -> tuple[set[str], list[str]]:
    releases = after_switch(run)
    gone = {r.id for r in choose_removals(releases, run.release.id, run.app.keep_releases)}
    kept = [r.req_hash for r in releases if usable(r) and r.id not in gone]
    return gone, kept
