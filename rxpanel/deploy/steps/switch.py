"""Every server's nginx to the gated colour. If one fails, the ones already
switched go back to their previous site, so the fleet never serves two releases."""

from __future__ import annotations

from rxpanel.deploy.commands import composite, nginx, release
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.templates.nginx import render_site, server_name


def switch(run: Run) -> None:
    app, rel, idle, log = run.app, run.release, run.color, run.log
    switched: list[Target] = []
    before = app.current_release_id  # its hashed assets stay servable for its tabs
    previous = before if before and before != rel.id else None

    def one(t: Target) -> None:
        site = render_site(
            app=app.name,
            url=app.url,
            release=rel.id,
            release_dir=t.layout.release(rel.id),
            color=idle,
            port=t.ports[idle],
            previous_dir=t.layout.release(previous) if previous else None,
            on_new_release=app.on_new_release,
        )
        site_tmp = f"{t.layout.tmp}/site.conf"
        t.remote.put_bytes(site.encode(), site_tmp)
        cmd = composite.switch(t.layout, site_tmp, rel.id, idle, server_name(app.url))
        result = t.run(cmd, "switching nginx", check=False)
        if not result.ok:
            said = result.stderr.strip().splitlines()
            plain = [line for line in said if nginx.CONFLICT in line]  # one sentence says it
            reason = plain[-1] if plain else " | ".join(said[-3:]) or f"exit {result.exit_code}"
            reason = reason.removesuffix(": the previous site config was kept")  # said below
            raise t.fail(f"the switch failed, the previous site config was kept: {reason}")
        switched.append(t)

    with log.step("switch"):
        try:
            run.each(one, "the switch")
        except DeployFailed as e:
            run.journal.release_status(rel.id, "bad", str(e))
            switch_back(run, switched)
            raise
        run.journal.went_live(rel.id, idle)
        for t in run.targets:
            t.undo.clear()
        ports = ", ".join(sorted({str(t.ports[idle]) for t in run.targets}))
        log.line(f"nginx now sends {app.url} to {idle} (port {ports}), release {rel.id}{run.where}")


def switch_back(run: Run, switched: list[Target]) -> None:
    """The servers given go back to the site and release live before this run."""
    before = run.app  # what was live when this deployment began
    for t in switched:
        t.run(nginx.restore_site(t.layout), "restoring the previous site", check=False)
        if before.current_release_id and before.live_color:
            t.run(
                release.activate(t.layout, before.current_release_id, before.live_color),
                "restoring current",
                check=False,
            )
        run.log.line(f"{t.tag}switched back to the previous site")
