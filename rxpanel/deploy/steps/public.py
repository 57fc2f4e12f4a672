"""After the switch: the app asked through nginx on every server (/, an asset,
/ping). The gate only proves the backend answers on its port; a site whose
pages nginx cannot serve would still pass it. If any server fails, every server
goes back to what served before, and the new colour stops (the lock's undo)."""

from __future__ import annotations

from rxpanel.deploy.commands import public as public_cmd
from rxpanel.deploy.commands import standby
from rxpanel.deploy.commands import supervisor as supervisor_cmd
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.steps.switch import switch_back

PREFIX = "the public side failed after the switch: "


def check(run: Run) -> None:
    def one(t: Target) -> None:
        result = t.run(public_cmd.public_check(run.app.url), "public check", check=False)
        said = result.stdout.strip() or result.stderr.strip()
        if not result.ok:
            raise t.fail(said or f"exit {result.exit_code}")
        run.log.line(f"{t.tag}{said}")

    with run.log.step("public check"):
        try:
            run.each(one, "the public check")
        except DeployFailed as e:
            raise DeployFailed(PREFIX + str(e) + "; " + _back(run, str(e))) from None


def _back(run: Run, reason: str) -> str:
    """Every server to the site and release of before; says what serves now."""
    before, rel = run.app, run.release
    if not before.current_release_id or not before.live_color:
        # Nothing else to serve: leave it in place, the operator fixes the site.
        return "there is no previous release to switch back to"
    switch_back(run, run.targets)
    for t in run.targets:
        # Run by the lock's undo, as after a failed gate: the new colour stops and
        # a standby marker naming it (a warm release that went live) goes.
        t.undo[:] = [supervisor_cmd.stop(t.layout, run.color), standby.clear(t.layout)]
    run.journal.went_live(before.current_release_id, before.live_color)
    # A kept build redeployed is the release before, still serving on its old colour.
    if rel.id != before.current_release_id:
        run.journal.release_status(rel.id, "bad", PREFIX + reason)
    return f"switched back to release {before.current_release_id}"
