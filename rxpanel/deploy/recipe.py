"""Recipes: a deploy or a rollback is a list of named steps, run by one runner.

A Step is a function of the Run; it may say when it applies (`when`), what to
do when a later step fails (`undo`, newest first) and what to do in any case
once the recipe ends (`always`, newest first, after the undos). The runner checks
for cancellation between steps. Steps journal themselves with `run.log.step()`
(some once, some once per server), so the log lines stay what the UI shows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from rxpanel.deploy import build as local_build
from rxpanel.deploy.fleet import Target, each, targets_of
from rxpanel.deploy.journal import Journal, StepLog
from rxpanel.deploy.plan import Plan, ReleaseInfo
from rxpanel.deploy.target import connect as ssh_connect


@dataclass
class Run:
    """One deployment in progress: its plan, its servers, and what the steps found."""

    plan: Plan
    journal: Journal
    log: StepLog
    targets: list[Target]
    connect: Callable = ssh_connect  # (TargetPlan, secrets, on_host_key) -> opened Remote
    builder: object = local_build  # checkout / ensure_build_venv / export / build_key
    pool: ThreadPoolExecutor | None = None  # the build runs here, beside the servers' work
    source: object | None = None  # the checked-out build.Source
    key: str = ""  # the build key
    cached: ReleaseInfo | None = None  # a kept release of this very build
    building: object | None = None  # steps.source.Building
    release: ReleaseInfo | None = None  # what goes live
    reused: bool = False  # a kept release of this build goes live: no build, no upload
    base: ReleaseInfo | None = None  # env-only change: the new release is a copy of this one
    color: str = ""  # the colour it starts on
    unfinished: bool = False  # a new release that failed before it was complete turns bad
    state_change: list[str] | None = None  # live classes it removed or changed (None: not asked)
    state_cleared: bool = False  # the stored state of open tabs was cleared at the switch

    @property
    def app(self):
        return self.plan.app

    @property
    def primary(self) -> Target:
        return self.targets[0]

    def each(self, work: Callable[[Target], object], what: str) -> list:
        return each(self.targets, work, what)

    @property
    def where(self) -> str:
        return f" on {len(self.targets)} servers" if len(self.targets) > 1 else ""


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Run], None]
    when: Callable[[Run], bool] | None = None
    undo: Callable[[Run, BaseException], None] | None = None
    always: Callable[[Run], None] | None = None


@dataclass(frozen=True)
class Recipe:
    name: str
    steps: tuple[Step, ...]

    def names(self) -> list[str]:
        return [s.name for s in self.steps]

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    def run(self, run: Run) -> None:
        started: list[Step] = []
        try:
            for step in self.steps:
                run.log.check_cancel()
                if step.when is not None and not step.when(run):
                    continue
                started.append(step)
                step.run(run)
        except BaseException as e:
            for step in reversed(started):
                if step.undo is not None:
                    step.undo(run, e)
            raise
        finally:
            for step in reversed(started):
                if step.always is not None:
                    step.always(run)


def new_run(
    plan: Plan,
    journal: Journal,
    cancel: threading.Event | None = None,
    connect: Callable | None = None,
    builder: object | None = None,
) -> Run:
    return Run(
        plan=plan,
        journal=journal,
        log=StepLog(journal, plan.secrets, cancel),
        targets=targets_of(plan.targets, plan.app.name),
        connect=connect or ssh_connect,
        builder=builder or local_build,
    )
