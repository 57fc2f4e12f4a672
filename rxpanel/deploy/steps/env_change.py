"""An env-only change: the same build (same commit, same build-time env) with
another runtime env. A new release is made on each server from the kept release of
that build (its backend and frontend copied there, then its own env file, run.sh
and release.json written): no build, no upload. It has its own env snapshot, so a
rollback brings the old env back. The "app user" step that follows gives it to the
app's user; then it starts, is gated and switched like any release."""

from __future__ import annotations

import dataclasses

from rxpanel.deploy.commands import release
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.steps import upload


def applies(run: Run) -> bool:
    return run.base is not None


def copy(run: Run) -> None:
    base = run.base
    rel = dataclasses.replace(
        base, id=upload.new_release_id(), status="new", live_at=None, removed_at=None
    )
    run.journal.release_created(rel, dict(run.plan.env))
    run.release = rel
    run.log.line(
        f"env changed, same build: new release {rel.id} from {base.id}, no build, no upload"
    )

    def one(t: Target) -> None:
        t.undo.append(release.remove(t.layout, [rel.id]))
        with run.log.step(f"copy release{t.suffix}"):
            t.run(release.copy(t.layout, base.id, rel.id), "copying the release")
            upload.write_launcher(run, t, "release.json")

    run.each(one, "copying the release")
    for t in run.targets:
        t.undo.remove(release.remove(t.layout, [rel.id]))
    run.journal.release_status(rel.id, "ready")
