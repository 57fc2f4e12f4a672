"""The deploy and rollback recipes, and execute(): run one of them for a plan.

An app deploys to one server or to several (a fleet): it is built once, uploaded
to and health-gated on every server in parallel, and switched only when every
server passed the gate. A failure at any step raises DeployFailed with the reason
in plain words; the undo stops whatever this run started, nginx keeps serving the
old release everywhere, and the server locks are released in any case."""

from __future__ import annotations

import threading
from collections.abc import Callable

from rxpanel.deploy import build as local_build
from rxpanel.deploy.builder import Builder
from rxpanel.deploy.journal import Cancelled, DeployFailed, Journal
from rxpanel.deploy.plan import Plan
from rxpanel.deploy.recipe import Recipe, Run, Step, new_run
from rxpanel.deploy.remote import RemoteError
from rxpanel.deploy.steps import (
    cutover,
    env_change,
    finish,
    gate,
    lock,
    public,
    rollback,
    shared,
    source,
    state_change,
    store,
    switch,
    upload,
)

__all__ = ["DEPLOY", "ROLLBACK", "Cancelled", "DeployFailed", "execute"]


def _new(run: Run) -> bool:
    """A new release is built and uploaded (no kept release of this build is reused)."""
    return source.building_new(run)


def _unfinished(run: Run) -> bool:
    return run.unfinished


LOCK = Step("lock", lock.take, undo=lock.undo, always=lock.release)

DEPLOY = Recipe(
    "deploy",
    (
        Step("checkout", source.checkout),
        Step("build", source.start_build, always=source.wait_for_build),
        LOCK,
        Step("reuse", source.reuse),
        Step("server venv", upload.server_venv, when=_new),
        Step("upload backend", upload.upload_backend, when=_new),
        Step("copy release", env_change.copy, when=env_change.applies),  # before "app user"
        Step("app user", upload.isolate),
        Step("state store", store.ensure, when=store.applies),
        Step("link shared", shared.link, when=_new),
        Step("state check", state_change.check, when=state_change.refuses),  # before any change
        Step("migrate", upload.migrate, when=_new, undo=upload.unfinished_is_bad),
        Step("start", source.reason_first(gate.start)),
        Step("health gate", source.reason_first(gate.gate)),
        Step("upload frontend", upload.upload_frontend, when=_unfinished),
        Step("switch", switch.switch),
        Step("state reset", state_change.reset, when=state_change.applies),
        Step("public check", public.check),
        Step("finish", finish.finish),
        Step("cutover", cutover.cut_over, when=cutover.applies),
        Step(
            "state reset again", state_change.clear_again, when=state_change.cleared_before_cutover
        ),
    ),
)

ROLLBACK = Recipe(
    "rollback",
    (
        Step("choose", rollback.choose),
        LOCK,
        Step("present", rollback.present),
        Step("app user", upload.isolate),
        Step("state store", store.ensure, when=store.applies),
        Step("start", gate.start),
        Step("health gate", gate.gate),
        Step("switch", switch.switch),
        Step("state reset", state_change.reset, when=state_change.applies),
        Step("public check", public.check),
        Step("finish", finish.finish),
        Step("cutover", cutover.cut_over, when=cutover.applies),
        Step(
            "state reset again", state_change.clear_again, when=state_change.cleared_before_cutover
        ),
    ),
)


def summary(run: Run) -> str:
    rel, short = run.release, rollback.short
    if run.plan.kind == "rollback":
        return f"rolled back to release {rel.id} ({short(rel.commit)}){run.where}"
    return f"release {rel.id} ({short(run.source.commit)}) is live on {run.color}{run.where}"


def execute(
    plan: Plan,
    journal: Journal,
    cancel: threading.Event | None = None,
    *,
    connect: Callable | None = None,
    builder: object | None = None,
) -> str:
    """Run the plan's recipe; returns a one-line summary or raises DeployFailed.
    `connect(target, secrets, on_host_key)` and `builder` (checkout, build_key,
    ensure_build_venv, export) are the SSH and local-build sides, replaceable in tests."""
    run = new_run(plan, journal, cancel, connect, builder or Builder.of(plan.app))
    recipe = ROLLBACK if plan.kind == "rollback" else DEPLOY
    try:
        recipe.run(run)
    except (RemoteError, local_build.BuildError) as e:
        raise DeployFailed(str(e)) from None
    return summary(run)
