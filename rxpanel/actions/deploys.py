"""Request a deploy or a rollback: validated, looked up and (for a rollback) judged
eligible before anything is queued, so no edge queues a job that must fail."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from rxpanel import validate
from rxpanel.actions import _host
from rxpanel.actions.actor import Actor, record, require
from rxpanel.models import App, Deployment, Release
from rxpanel.services import Conflict, ServiceError, apps, deployments, releases


@dataclass(frozen=True)
class Requested:
    app: App
    deployment: Deployment
    release: Release | None = None  # a rollback's target


def _app(app: str | App) -> App:
    return apps.get(app) if isinstance(app, str) else app


def request_deploy(
    app: str | App, actor: Actor, ref: str | None = None, *, by: str = "", note: str = ""
) -> Requested:
    """Queue a deploy of `ref` (default: the app's branch head)."""
    ref = validate.git_ref(ref, "ref") if ref else None
    found = _app(app)
    require(actor, "deployer", "deploy", f"app:{found.name}")
    dep = deployments.trigger(
        found.id, kind="deploy", ref=ref, trigger=actor.trigger, by=by or actor.by
    )
    detail = f"deployment #{dep.id} at {ref or found.branch}" + (f" ({note})" if note else "")
    record(actor, "deploy", f"app:{found.name}", detail=detail)
    return Requested(found, dep)


class SchemaWarning(Conflict):
    """A rollback to a release whose migrations end elsewhere than the database:
    asked again with force=True once the operator has read `warning`."""

    def __init__(self, warning: str):
        super().__init__(f"{warning}: confirm to roll back anyway")
        self.warning = warning


def request_rollback(
    app: str | App,
    actor: Actor,
    to: str | None = None,
    *,
    note: str = "",
    force: bool = False,
) -> Requested:
    """Queue a rollback to release `to`, or to the previous good release.
    Refused (NotFound, Conflict, Invalid) when it could not succeed, and
    (SchemaWarning) unless `force` when the database's schema is not the release's."""
    to = validate.release_id(to) if to else None
    found = _app(app)
    require(actor, "deployer", "rollback", f"app:{found.name}")
    try:
        target = releases.rollback_target(found, to)
    except ServiceError as e:  # refused: the audit log says why
        record(actor, "rollback", f"app:{found.name}", outcome="refused", detail=str(e))
        raise
    warning = releases.rollback_warning(found, target)
    if warning and not force:
        detail = f"to {target.id}, not confirmed: {warning}"
        record(actor, "rollback", f"app:{found.name}", outcome="refused", detail=detail)
        raise SchemaWarning(warning)
    dep = deployments.trigger(found.id, kind="rollback", ref=to, trigger=actor.trigger, by=actor.by)
    detail = f"deployment #{dep.id} to {target.id}" + (f": {note}" if note else "")
    detail += f" (confirmed: {warning})" if warning else ""
    record(actor, "rollback", f"app:{found.name}", detail=detail)
    return Requested(found, dep, target)


def recover() -> list[Deployment]:
    """Deployments left running by a dead process become interrupted (and repaired)."""
    return _host.recover()


def run_here(app_id: int, done: Callable[[], bool], cancel: threading.Event | None = None) -> None:
    """Run the app's queued deployments in this process until `done()` (the CLI
    does, while it follows its own); the database decides who runs what."""
    _host.drain(app_id, done, cancel)
