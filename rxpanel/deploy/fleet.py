"""The servers of one deployment and work done on all of them at once.

`each()` runs work on every target (in parallel for a fleet) and returns a
FleetResult, server name -> Outcome, like Fabric's GroupResult. Errors carry
their server as data (TargetFailed.server), never as a prefix in their text;
only log lines are tagged "[web2] "."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from rxpanel.deploy.commands import AppLayout
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.plan import TargetPlan
from rxpanel.deploy.remote import CommandFailed, RemoteError


class TargetFailed(DeployFailed):
    """A failure on one server; the message does not name it."""

    def __init__(self, server: str, message: str):
        super().__init__(message)
        self.server = server


@dataclass
class Target:
    """One server of a deployment at run time: its connection and what to undo there."""

    plan: TargetPlan
    layout: AppLayout
    ports: dict[str, int]  # may move when a stranger holds a port
    tag: str = ""  # "[web2] " in a fleet's log lines, "" alone
    remote: object | None = None  # a deploy.remote.Remote, or a fake in tests
    locked: bool = False
    undo: list[str] = field(default_factory=list)  # remote commands, run on failure

    @property
    def name(self) -> str:
        return self.plan.name

    @property
    def suffix(self) -> str:
        """" [web2]" after a fleet's per-server step names."""
        return f" [{self.name}]" if self.tag else ""

    def fail(self, message: str) -> TargetFailed:
        return TargetFailed(self.name, message)

    def run(self, command: str, label: str, **kw):
        assert self.remote is not None
        try:
            return self.remote.run(command, label=label, **kw)
        except (CommandFailed, RemoteError) as e:
            raise self.fail(str(e)) from None

    def put_bytes(self, data: bytes, path: str, mode: int = 0o644) -> None:
        try:
            self.remote.put_bytes(data, path, mode)
        except RemoteError as e:
            raise self.fail(str(e)) from None


def targets_of(plans, app: str) -> list[Target]:
    fleet = len(plans) > 1
    return [
        Target(plan=p, layout=p.layout(app), ports=dict(p.ports), tag=f"[{p.name}] " if fleet else "")
        for p in plans
    ]


@dataclass(frozen=True)
class Outcome:
    value: object = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class FleetResult(dict):
    """Server name -> Outcome, in the order of the targets."""

    @property
    def succeeded(self) -> dict[str, Outcome]:
        return {k: o for k, o in self.items() if o.ok}

    @property
    def failed(self) -> dict[str, Outcome]:
        return {k: o for k, o in self.items() if not o.ok}

    def values_in_order(self) -> list:
        return [o.value for o in self.values()]

    def summary(self, what: str) -> str:
        results = "; ".join(
            f"{name}: {'ok' if o.ok else o.error}" for name, o in self.items()
        )
        return f"{what} failed on {len(self.failed)} of {len(self)} servers ({results})"

    def raise_for(self, what: str) -> None:
        """One DeployFailed telling every server's result; an error that is not a
        deploy failure (a bug, a lost connection) is raised as it is."""
        if not self.failed:
            return
        for o in self.failed.values():
            if not isinstance(o.error, DeployFailed):
                raise o.error
        raise DeployFailed(self.summary(what))


def run_all(targets: list[Target], work: Callable[[Target], object]) -> FleetResult:
    """`work` on every target, in parallel; never raises."""

    def one(t: Target) -> Outcome:
        try:
            return Outcome(work(t))
        except Exception as e:  # noqa: BLE001 - kept as that server's outcome
            return Outcome(error=e)

    with ThreadPoolExecutor(max(1, len(targets))) as pool:
        outcomes = list(pool.map(one, targets))
    return FleetResult((t.name, o) for t, o in zip(targets, outcomes, strict=True))


def each(targets: list[Target], work: Callable[[Target], object], what: str) -> list:
    """`work` on every target; a lone server's error is raised as it is, a fleet's
    errors become one DeployFailed naming each server's outcome."""
    if len(targets) == 1:
        return [work(targets[0])]
    result = run_all(targets, work)
    result.raise_for(what)
    return result.values_in_order()
