"""A rollback brings back a kept good release (chosen and checked by the worker)
that every server still holds."""

from __future__ import annotations

from rxpanel.deploy.commands import release
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run


def short(commit: str | None) -> str:
    return (commit or "")[:12]


def choose(run: Run) -> None:
    target = run.plan.rollback_to
    if target is None:
        raise DeployFailed("there is no previous good release to roll back to")
    run.release = target
    run.journal.release_used(target.id, target.commit)
    run.log.line(
        f"rolling back from {run.app.current_release_id} to {target.id} ({short(target.commit)})"
    )


def present(run: Run) -> None:
    """Retention may have removed it from some server since."""
    rel, missing = run.release, []
    for t in run.targets:
        try:
            if not t.run(release.exists(t.layout, rel.id), "check release", check=False).ok:
                missing.append(t.name)
        except DeployFailed as e:
            raise DeployFailed(f"{t.tag}{e}") from None  # outside a fleet result: say where
    if missing:
        if len(missing) == len(run.targets):
            run.journal.releases_removed([rel.id])
        raise DeployFailed(f"release {rel.id} is not on {', '.join(missing)}")
