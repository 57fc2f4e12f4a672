"""Runs queued deployments: one per app at a time, recorded outcomes, heartbeats,
cancellation, and recovery of deployments whose process died.

Any process may run deployments (the panel's background runner, or the CLI
while it waits for its own); the database decides who runs what (see
services.deployments.claim). The worker is the only code that reads services for
a deploy: it builds the plan, hands the engine a DbJournal, records the outcome."""

from __future__ import annotations

import logging
import threading
import time
import traceback

from rxpanel.deploy import engine
from rxpanel.deploy.commands import lock, other_color, release, standby, supervisor
from rxpanel.deploy.plan import lock_owner
from rxpanel.deploy.remote import RemoteError
from rxpanel.models import Deployment
from rxpanel.secrets import redact
from rxpanel.services import apps, deployments, notify, releases
from rxpanel.worker.hosts import connect_server, stop_due_standbys
from rxpanel.worker.journal import DbJournal
from rxpanel.worker.plans import layout_of, plan_of

HEARTBEAT_EVERY = 5.0
log = logging.getLogger("rxpanel.worker")


def execute(dep: Deployment, cancel: threading.Event | None = None) -> Deployment:
    """Run one claimed deployment to a final, recorded outcome, and tell the team."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_EVERY):
            deployments.heartbeat(dep.id)

    threading.Thread(target=beat, name=f"heartbeat-{dep.id}", daemon=True).start()
    try:
        done = _run(dep, cancel)
    finally:
        stop.set()
    tell(done)
    return done


def _run(dep: Deployment, cancel: threading.Event | None) -> Deployment:
    journal = DbJournal(dep.id, dep.app_id)
    try:
        try:
            summary = engine.execute(plan_of(dep), journal, cancel)
        finally:
            journal.close()  # every line of the engine is written before the outcome
        deployments.add_log(dep.id, f"success: {summary}")
        return deployments.finish(dep.id, "success", summary)
    except engine.Cancelled as e:
        return deployments.finish(dep.id, "cancelled", str(e))
    except engine.DeployFailed as e:
        deployments.add_log(dep.id, f"failed: {e}", level="error")
        return deployments.finish(dep.id, "failed", str(e))
    except Exception as e:  # noqa: BLE001 - a bug must still end as a recorded failure
        secrets = list(apps.env_of(apps.get_by_id(dep.app_id)).values())
        detail = redact(traceback.format_exc(), secrets)
        deployments.add_log(dep.id, f"internal error: {detail}", level="error")
        return deployments.finish(dep.id, "failed", redact(f"internal error: {e}", secrets))


def tell(dep: Deployment) -> None:
    """Queue the outcome for the notification channels (never fails the deploy)."""
    try:
        app = apps.get_by_id(dep.app_id)
        icon = {"success": "✅", "failed": "❌"}.get(dep.status, "⚪")
        what = "rollback" if dep.kind == "rollback" else "deploy"
        who = f"{dep.trigger}" + (f" · {dep.triggered_by}" if dep.triggered_by else "")
        text = f"{icon} {app.name}: {what} #{dep.id} {dep.status}: {dep.reason} ({who})"
        notify.enqueue(
            f"deploy.{dep.status}",
            text,
            app_id=app.id,
            app=app.name,
            deployment=dep.id,
            kind=dep.kind,
            status=dep.status,
            reason=dep.reason,
            commit=dep.commit,
            release=dep.release_id,
            trigger=dep.trigger,
            by=dep.triggered_by,
        )
    except Exception as e:  # noqa: BLE001
        deployments.add_log(dep.id, f"could not queue the notification: {e}", level="error")


def drain(
    app_id: int, done=lambda: False, cancel: threading.Event | None = None, poll: float = 0.25
) -> None:
    """Run the app's queued deployments until `done()` says stop; then stop the
    warm standbys that are due (a CLI that deploys without a panel catches up)."""
    while not done():
        dep = deployments.claim(app_id)
        if dep is not None:
            execute(dep, cancel)
        else:
            time.sleep(poll)
    try:
        stop_due_standbys()
    except Exception:  # noqa: BLE001 - the panel's scheduler tries again
        log.warning("stopping due standbys failed", exc_info=True)


def recover() -> list[Deployment]:
    """At start-up: deployments left running by a dead process become interrupted;
    their server locks are released and the app's live state is read back."""
    dead = deployments.interrupt_dead()
    for dep in dead:
        try:
            _repair(dep)
        except Exception as e:  # noqa: BLE001 - recovery must not stop start-up
            deployments.add_log(dep.id, f"recovery could not reach the server: {e}", level="error")
    return dead


def _repair(dep: Deployment) -> None:
    """On each of the app's servers: read back what is live (the switch may have
    happened before the process died), stop a colour it left half-started, and
    release its lock."""
    app = apps.get_by_id(dep.app_id)
    for number, (server, _ports) in enumerate(apps.targets(app)):
        layout = layout_of(app, server)
        try:
            remote = connect_server(server)
        except RemoteError as e:
            deployments.add_log(dep.id, f"recovery: {server.name}: {e}", level="error")
            continue
        with remote:
            if number == 0:
                live = remote.run(release.read_live(layout)).stdout.split()
                if len(live) == 2 and (live[0], live[1]) != (
                    app.live_color,
                    app.current_release_id,
                ):
                    apps.set_live(app.id, live[1], live[0])
                    deployments.add_log(
                        dep.id, f"recovery: {live[1]} is live on {live[0]} (read from the server)"
                    )
                app = apps.get_by_id(app.id)
            warm = remote.run(standby.read(layout)).stdout.split()
            idle = other_color(app.live_color)
            if warm[:1] != [idle]:
                remote.run(supervisor.stop(layout, idle), label="stopping the unfinished colour")
            remote.run(
                lock.release(layout, lock_owner(dep.id, dep.runner)), label="releasing the lock"
            )
            deployments.add_log(dep.id, f"recovery: {server.name}: the lock was released")
    if dep.release_id and dep.release_id != app.current_release_id:
        rel = releases.get(dep.release_id)
        if rel.status in ("new", "ready"):
            releases.set_status(rel.id, "bad", "its deployment was interrupted")


class Runner:
    """The panel's background runner: one thread per app with queued work."""

    def __init__(self, poll: float = 0.5):
        self.poll, self.stop = poll, threading.Event()
        self.busy: dict[int, threading.Thread] = {}

    def start(self) -> Runner:
        recover()
        threading.Thread(target=self._loop, name="deploy-runner", daemon=True).start()
        return self

    def _loop(self) -> None:
        while not self.stop.wait(self.poll):
            for app_id in set(deployments.apps_with_queued()):
                thread = self.busy.get(app_id)
                if thread is None or not thread.is_alive():
                    thread = threading.Thread(target=self._drain_once, args=(app_id,), daemon=True)
                    self.busy[app_id] = thread
                    thread.start()

    def _drain_once(self, app_id: int) -> None:
        while (dep := deployments.claim(app_id)) is not None:
            execute(dep)
