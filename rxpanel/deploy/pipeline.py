"""deploy() and rollback(): the steps of DESIGN.md, each logged with its duration.

An app deploys to one server or to several (a fleet): it is built once, uploaded
to and health-gated on every server in parallel, and switched only when every
server passed the gate. A failure at any step raises DeployFailed with the reason
in plain words; the cleanup stops whatever this run started, nginx keeps serving
the old release everywhere, and the server locks are released in a `finally`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rxpanel.deploy import build as builder
from rxpanel.deploy.commands import AppLayout, lock, nginx, other_color, release, standby
from rxpanel.deploy.commands import health as health_cmd
from rxpanel.deploy.commands import supervisor as supervisor_cmd
from rxpanel.deploy.commands import venv as venv_cmd
from rxpanel.deploy.remote import CommandFailed, Remote, RemoteError
from rxpanel.deploy.target import connect, layout_of
from rxpanel.deploy.templates.nginx import render_site
from rxpanel.deploy.templates.release import (
    render_env_file,
    render_release_json,
    render_run_script,
)
from rxpanel.deploy.templates.supervisor import render_program
from rxpanel.models import App, Deployment, Release, Server
from rxpanel.secrets import encrypt, redact
from rxpanel.services import apps, deployments, releases


class DeployFailed(RuntimeError):
    """The reason a deployment failed, in plain words."""


class Cancelled(DeployFailed):
    pass


class StepLog:
    """Writes a deployment's log lines and step rows as they happen (redacted)."""

    def __init__(self, dep_id: int, secrets: list[str], cancel: threading.Event | None = None):
        self.dep_id, self.secrets, self.cancel = dep_id, secrets, cancel
        self._local = threading.local()

    def line(self, text: str, level: str = "info") -> None:
        step = getattr(self._local, "step", "")
        deployments.add_log(self.dep_id, redact(text, self.secrets), step=step, level=level)

    def output(self, text: str) -> None:
        self.line(text, "output")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled by the operator")
        outer = getattr(self._local, "step", "")
        self._local.step = name
        step_id = deployments.start_step(self.dep_id, name)
        self.line(f"▶ {name}")
        started = time.monotonic()
        try:
            yield
        except BaseException as e:
            took = time.monotonic() - started
            deployments.end_step(step_id, "failed", took)
            self.line(f"✗ {name} failed after {took:.2f} s: {e}", "error")
            raise
        finally:
            self._local.step = outer
        took = time.monotonic() - started
        deployments.end_step(step_id, "ok", took)
        self.line(f"✓ {name} ({took:.2f} s)")


@dataclass
class Target:
    """One server of a deployment: how it is reached and what to undo there."""

    server: Server
    layout: AppLayout
    ports: dict[str, int]  # colour -> backend port on this server
    primary: bool
    tag: str = ""  # "[web2] " in a fleet's log lines and step names, "" alone
    remote: Remote | None = None
    locked: bool = False
    undo: list[str] = field(default_factory=list)  # remote commands, run on failure

    def run(self, command: str, label: str, **kw):
        assert self.remote is not None
        try:
            return self.remote.run(command, label=label, **kw)
        except (CommandFailed, RemoteError) as e:
            raise DeployFailed(f"{self.tag}{e}") from None


@dataclass
class Run:
    """One deployment in progress and the servers it works on."""

    dep: Deployment
    app: App
    env: dict[str, str]
    log: StepLog
    targets: list[Target]

    @property
    def owner(self) -> str:
        return lock_owner(self.dep)

    @property
    def primary(self) -> Target:
        return self.targets[0]

    def each(self, work: Callable[[Target], object], what: str) -> list:
        """Do `work` on every server (in parallel for a fleet); if any fails, raise
        one DeployFailed telling each server's result, like Fabric's GroupResult."""
        if len(self.targets) == 1:
            return [work(self.targets[0])]
        with ThreadPoolExecutor(len(self.targets)) as pool:
            futures = [pool.submit(work, t) for t in self.targets]
            errors = [f.exception() for f in futures]
        if any(errors):
            for error in errors:
                if error is not None and not isinstance(error, DeployFailed):
                    raise error
            results = "; ".join(
                f"{t.server.name}: {'ok' if e is None else str(e).removeprefix(t.tag)}"
                for t, e in zip(self.targets, errors, strict=True)
            )
            raise DeployFailed(
                f"{what} failed on {sum(e is not None for e in errors)} of "
                f"{len(self.targets)} servers ({results})"
            )
        return [f.result() for f in futures]


def lock_owner(dep: Deployment) -> str:
    return f"deployment #{dep.id} ({dep.runner})"


def targets_of(app: App) -> list[Target]:
    found = apps.targets(app)
    fleet = len(found) > 1
    return [
        Target(
            server=server,
            layout=layout_of(app, server),
            ports=ports,
            primary=i == 0,
            tag=f"[{server.name}] " if fleet else "",
        )
        for i, (server, ports) in enumerate(found)
    ]


def execute(dep: Deployment, cancel: threading.Event | None = None) -> str:
    """Run a claimed deployment; returns a one-line summary or raises DeployFailed."""
    app = apps.get_by_id(dep.app_id)
    env = apps.env_of(app)
    run = Run(dep, app, env, StepLog(dep.id, list(env.values()), cancel), targets_of(app))
    try:
        return _rollback(run) if dep.kind == "rollback" else _deploy(run)
    except (RemoteError, builder.BuildError) as e:
        raise DeployFailed(str(e)) from None


def _where(run: Run) -> str:
    return f" on {len(run.targets)} servers" if len(run.targets) > 1 else ""


# -- the deploy -------------------------------------------------------------


def _deploy(run: Run) -> str:
    log, app = run.log, run.app
    with log.step("checkout"):
        try:
            source = builder.checkout(app.name, app.source, app.branch, run.dep.ref, log.output)
        except builder.BuildError as e:
            raise DeployFailed(str(e)) from None
        deployments.set_fields(run.dep.id, commit=source.commit)
    key = builder.build_key(
        commit=source.commit, req_hash=source.req_hash, url=app.url, env=run.env
    )
    cached = releases.reusable(app.id, key)
    # The build needs no server: it starts now, beside the connections, the locks and
    # the server venvs (DESIGN step 3). Leaving the pool waits for it, so no step
    # of this deployment logs after its outcome.
    with ThreadPoolExecutor(1) as pool:
        building = None if cached else Building.start(pool, run, source)
        with _locked(run):
            if cached and all(_has(t, cached.id) for t in run.targets):
                log.line(f"release {cached.id} already holds this build: no build, no upload")
                deployments.set_fields(run.dep.id, release_id=cached.id)
                _activate(run, cached)
            else:
                _deploy_new(run, source, key, building or Building.start(pool, run, source))
    color = apps.get_by_id(app.id).live_color
    rel_id = deployments.get(run.dep.id).release_id
    return f"release {rel_id} ({short(source.commit)}) is live on {color}{_where(run)}"


def _has(target: Target, release_id: str) -> bool:
    return target.run(release.exists(target.layout, release_id), "check release", check=False).ok


@dataclass
class Building:
    """A build under way. Its backend is ready seconds before its frontend."""

    backend: Future  # the backend zip's Path
    done: Future  # the builder.Build

    @classmethod
    def start(cls, pool: ThreadPoolExecutor, run: Run, source: builder.Source) -> Building:
        backend: Future = Future()
        return cls(backend, pool.submit(_build, run, source, backend))

    def backend_zip(self) -> Path:
        try:
            return self.backend.result()
        except DeployFailed:
            self.done.result()  # raises the build's own error
            raise


def _build(run: Run, source: builder.Source, backend: Future) -> builder.Build:
    with run.log.step("build"):
        try:
            venv = builder.ensure_build_venv(source, run.log.output)
            return builder.export(
                run.app.name,
                source,
                venv,
                url=run.app.url,
                env=run.env,
                log=run.log.output,
                backend_ready=backend.set_result,
            )
        except builder.BuildError as e:
            raise DeployFailed(str(e)) from None
        finally:
            if not backend.done():
                backend.set_exception(DeployFailed("the build stopped"))


def _deploy_new(run: Run, source: builder.Source, key: str, building: Building) -> None:
    """The new release starts on the idle colour and passes the health gate with its
    backend while its frontend is still being built; then the frontend goes up and
    nginx switches."""
    rel = _upload_backend(run, source, key, building)
    try:
        try:
            idle = _start_and_gate(run, rel)
        except DeployFailed as failed:
            # code that will not start often will not build either: then the build's
            # own error is the reason to tell
            raise building.done.exception() or failed from None
        _upload_frontend(run, rel, building.done.result())
    except Exception as e:
        releases.set_status(rel.id, "bad", str(e))  # never complete: it cannot come back
        raise
    _go_live(run, rel, idle)


def _upload_backend(run: Run, source: builder.Source, key: str, building: Building) -> Release:
    """Make the server venvs (while the build runs), then upload the backend and its
    launcher everywhere; migrations run once, on the primary server."""
    log, app = run.log, run.app

    def venv(t: Target) -> None:
        t.run(release.prepare(t.layout), "preparing the app directory")
        with log.step(f"server venv{_suffix(t)}"):
            t.remote.put_bytes(
                source.requirements, venv_cmd.requirements_path(t.layout, source.req_hash)
            )
            t.run(
                venv_cmd.ensure(t.layout, source.req_hash),
                "creating the server venv",
                timeout=1800,
                on_line=lambda line: log.output(t.tag + line),
            )

    run.each(venv, "making the server venv")
    backend_zip = building.backend_zip()
    rel_id = releases.new_id()
    releases.create(
        id=rel_id,
        app_id=app.id,
        commit=source.commit,
        build_key=key,
        req_hash=source.req_hash,
        env_enc=encrypt(json.dumps(run.env)),
        env_hash=builder.env_hash(run.env),
    )
    deployments.set_fields(run.dep.id, release_id=rel_id)
    meta = render_release_json(
        id=rel_id,
        app=app.name,
        commit=source.commit,
        build=key,
        requirements=source.req_hash,
        url=app.url,
        deployment=run.dep.id,
    )

    def send(t: Target) -> None:
        t.undo.append(release.remove(t.layout, [rel_id]))  # until the frontend is there
        rel_dir = t.layout.release(rel_id)
        with log.step(f"upload backend{_suffix(t)}"):
            _send_zip(run, t, backend_zip, lambda z: release.unpack_backend(t.layout, rel_id, z))
            files = [
                (render_env_file(run.env, app.url), f"{rel_dir}/env", 0o600),
                (
                    render_run_script(
                        app=app.name,
                        release=rel_id,
                        release_dir=rel_dir,
                        venv=t.layout.venv(source.req_hash),
                        home=f"{t.layout.shared}/home",
                    ),
                    f"{rel_dir}/run.sh",
                    0o755,
                ),
                (meta, f"{rel_dir}/release.json.part", 0o644),  # named when complete
            ]
            for text, path, mode in files:
                try:
                    t.remote.put_bytes(text.encode(), path, mode)
                except RemoteError as e:
                    raise DeployFailed(f"{t.tag}{e}") from None

    run.each(send, "the upload")
    with log.step("migrate"):
        run.primary.run(
            venv_cmd.migrate(run.primary.layout, rel_id, source.req_hash),
            "reflex db migrate",
            on_line=log.output,
            timeout=600,
        )
    return releases.get(rel_id)


def _upload_frontend(run: Run, rel: Release, made: builder.Build) -> None:
    """The static frontend into the release everywhere; then the release is complete."""

    def send(t: Target) -> None:
        with run.log.step(f"upload frontend{_suffix(t)}"):
            _send_zip(
                run, t, made.frontend_zip, lambda z: release.unpack_frontend(t.layout, rel.id, z)
            )
        t.undo.remove(release.remove(t.layout, [rel.id]))

    run.each(send, "the upload")
    releases.set_status(rel.id, "ready")


def _send_zip(run: Run, t: Target, zip_path: Path, unpack: Callable[[str], str]) -> None:
    """Upload one zip of the build and unpack it (`unpack` is given the upload's path)."""
    started, size = time.monotonic(), zip_path.stat().st_size
    # the zip, and what it unpacks to (about three times its size), must fit
    free = t.run(release.free_kib(t.layout), "checking free space").stdout.strip()
    if free.isdigit() and int(free) * 1024 < size * 4:
        raise DeployFailed(
            f"{t.tag}not enough disk space on the server: {int(free) / 1024:.1f} MB "
            f"free in {t.layout.dir}, about {size * 4 / 1e6:.1f} MB needed"
        )
    remote_zip = f"{t.layout.tmp}/{zip_path.parent.name}.{zip_path.name}"
    try:
        t.remote.put_file(str(zip_path), remote_zip, label=f"upload of {zip_path.name}")
    except RemoteError as e:
        raise DeployFailed(f"{t.tag}{e}") from None
    run.log.line(
        f"{t.tag}uploaded {zip_path.name} ({size / 1e6:.2f} MB) "
        f"in {time.monotonic() - started:.2f} s"
    )
    t.run(unpack(remote_zip), f"unpacking {zip_path.name}")


def _suffix(t: Target) -> str:
    return f" [{t.server.name}]" if t.tag else ""


# -- the rollback -----------------------------------------------------------


def _rollback(run: Run) -> str:
    app = apps.get_by_id(run.app.id)
    if not app.current_release_id:
        raise DeployFailed(f"{app.name} has never been deployed: nothing to roll back to")
    if run.dep.ref:
        target = releases.get(run.dep.ref, app.id)
        if target.id == app.current_release_id:
            raise DeployFailed(f"release {target.id} is already live")
        if target.removed_at is not None:
            raise DeployFailed(f"release {target.id} was removed from the server by retention")
        if target.status != "good":
            raise DeployFailed(
                f"release {target.id} is {target.status}: only a kept good release can come back"
            )
    else:
        target = releases.previous_good(app.id, app.current_release_id)
        if target is None:
            raise DeployFailed("there is no previous good release to roll back to")
    deployments.set_fields(run.dep.id, release_id=target.id, commit=target.commit)
    run.log.line(
        f"rolling back from {app.current_release_id} to {target.id} ({short(target.commit)})"
    )
    with _locked(run):
        missing = [t.server.name for t in run.targets if not _has(t, target.id)]
        if missing:
            if len(missing) == len(run.targets):
                releases.mark_removed([target.id])
            raise DeployFailed(f"release {target.id} is not on {', '.join(missing)}")
        _activate(run, target)
    return f"rolled back to release {target.id} ({short(target.commit)}){_where(run)}"


# -- shared: lock, start, gate, switch, finish --------------------------------


@contextmanager
def _locked(run: Run) -> Iterator[None]:
    def take(t: Target) -> None:
        try:
            t.remote = connect(t.server, run.log.secrets)
        except RemoteError as e:
            raise DeployFailed(f"{t.tag}{e}") from None
        _acquire(run, t)

    try:
        with run.log.step("lock"):
            run.each(take, "taking the lock")
    except BaseException:
        _unlock(run)  # the servers that were locked
        raise
    try:
        yield
    except BaseException:
        with ThreadPoolExecutor(len(run.targets)) as pool:
            list(pool.map(lambda t: _undo(run, t), run.targets))
        raise
    finally:
        _unlock(run)


def _acquire(run: Run, t: Target) -> None:
    deadline = time.monotonic() + 15
    while True:
        result = t.run(lock.acquire(t.layout, run.owner), "taking the app lock", check=False)
        if result.ok:
            run.log.line(f"{t.tag}locked {t.layout.lock}")
            t.locked = True
            return
        if result.exit_code != lock.LOCKED_EXIT:
            raise DeployFailed(f"{t.tag}cannot take the app lock: {result.stderr.strip()}")
        holder = result.stderr.strip().removeprefix("locked by: ")
        if _stale(holder):
            run.log.line(f"{t.tag}removing a stale lock left by {holder}")
            t.run(f"rm -rf {lock.q(t.layout.lock)}", "removing a stale lock")
            continue
        if holder != "standby-stop" or time.monotonic() > deadline:
            raise DeployFailed(f"{t.tag}{run.app.name} is locked on the server by {holder}")
        time.sleep(0.5)  # the standby stop holds the lock for a moment


def _stale(holder: str) -> bool:
    """A lock left by a deployment that has finished (its process died)."""
    if not holder.startswith("deployment #"):
        return False
    number = holder.removeprefix("deployment #").split(" ")[0]
    return number.isdigit() and deployments.is_final(int(number))


def _reconnect(run: Run, t: Target) -> Remote:
    if t.remote is None or not t.remote.conn.is_connected:
        t.remote = connect(t.server, run.log.secrets)
    return t.remote


def _undo(run: Run, t: Target) -> None:
    if not t.undo:
        return
    try:
        remote = _reconnect(run, t)
        for command in reversed(t.undo):
            remote.run(command, label="cleanup", check=False, timeout=120)
        run.log.line(f"{t.tag}cleaned up: the previous release keeps serving")
    except Exception as e:  # noqa: BLE001 - the failure itself is already recorded
        run.log.line(f"{t.tag}cleanup failed: {e}", "error")


def _unlock(run: Run) -> None:
    def free(t: Target) -> None:
        if not t.locked:
            if t.remote is not None:
                t.remote.close()
            return
        for attempt in range(3):
            try:
                _reconnect(run, t).run(
                    lock.release(t.layout, run.owner), label="releasing the lock", timeout=60
                )
                run.log.line(f"{t.tag}lock released")
                t.locked = False
                break
            except (RemoteError, OSError) as e:
                if attempt == 2:
                    run.log.line(
                        f"{t.tag}could not release the lock: {e}; the next deploy will remove it",
                        "error",
                    )
                time.sleep(1)
        if t.remote is not None:
            t.remote.close()

    with ThreadPoolExecutor(max(1, len(run.targets))) as pool:
        list(pool.map(free, run.targets))


def _activate(run: Run, rel: Release) -> None:
    """Start the release on the idle colour everywhere, gate on health everywhere,
    then switch every server's nginx; finish."""
    _go_live(run, rel, _start_and_gate(run, rel))


def _start_and_gate(run: Run, rel: Release) -> str:
    """Start the release on the idle colour everywhere and gate on its health
    everywhere. Returns that colour."""
    log = run.log
    app = apps.get_by_id(run.app.id)
    idle = other_color(app.live_color)

    def start(t: Target) -> None:
        warm = t.run(standby.read(t.layout), "reading the standby").stdout.strip()
        t.undo.append(supervisor_cmd.stop(t.layout, idle))  # what runs on idle is not serving
        if warm == f"{idle} {rel.id}":
            log.line(f"{t.tag}release {rel.id} is still warm on {idle}: no restart needed")
            t.undo.append(standby.clear(t.layout))
            return
        with log.step(f"start {idle}{_suffix(t)}"):
            _start(run, t, app, rel, idle)

    def gate(t: Target) -> None:
        with log.step(f"health gate{_suffix(t)}"):
            port = t.ports[idle]
            result = t.run(
                health_cmd.gate(t.layout, idle, port, app.health_path, app.health_timeout),
                "health gate",
                check=False,
                timeout=app.health_timeout + 60,
            )
            if not result.ok:
                tail = t.run(release.tail_log(t.layout, idle), "reading the app log").stdout
                for line in tail.splitlines():
                    log.output(f"{t.tag}[{idle}] {line}")
                reason = (result.stdout.strip().splitlines() or ["no answer"])[-1]
                raise DeployFailed(
                    f"{t.tag}release {rel.id} failed the health gate on port {port}: {reason}"
                )
            log.line(t.tag + result.stdout.strip())

    run.each(start, "starting the release")
    try:
        run.each(gate, "the health gate")
    except DeployFailed as e:
        releases.set_status(rel.id, "bad", str(e))
        raise
    return idle


def _go_live(run: Run, rel: Release, idle: str) -> None:
    """Switch every server's nginx to the gated colour; finish."""
    log = run.log
    app = apps.get_by_id(run.app.id)
    live = app.live_color
    _switch(run, app, rel, idle)
    with log.step("finish"):
        run.each(lambda t: _finish(run, t, app, rel, live), "finishing")
        _retire(run, app, rel)


def _switch(run: Run, app: App, rel: Release, idle: str) -> None:
    """Every server's nginx to the new colour. If one fails, the ones already
    switched go back to their previous site, so the fleet never serves two releases."""
    log, switched = run.log, []

    def switch(t: Target) -> None:
        site = render_site(
            app=app.name,
            url=app.url,
            release=rel.id,
            release_dir=t.layout.release(rel.id),
            color=idle,
            port=t.ports[idle],
        )
        site_tmp = f"{t.layout.tmp}/site.conf"
        t.remote.put_bytes(site.encode(), site_tmp)
        result = t.run(
            f"{nginx.install_site(t.layout, site_tmp)} && "
            f"{release.activate(t.layout, rel.id, idle)}",
            "switching nginx",
            check=False,
        )
        if not result.ok:
            reason = (
                " | ".join(result.stderr.strip().splitlines()[-3:]) or f"exit {result.exit_code}"
            )
            raise DeployFailed(
                f"{t.tag}the switch failed, the previous site config was kept: {reason}"
            )
        switched.append(t)

    with log.step("switch"):
        try:
            run.each(switch, "the switch")
        except DeployFailed as e:
            releases.set_status(rel.id, "bad", str(e))
            before = apps.get_by_id(app.id)
            for t in switched:
                t.run(nginx.restore_site(t.layout), "restoring the previous site", check=False)
                if before.current_release_id and before.live_color:
                    t.run(
                        release.activate(t.layout, before.current_release_id, before.live_color),
                        "restoring current",
                        check=False,
                    )
                log.line(f"{t.tag}switched back to the previous site")
            raise
        apps.set_live(app.id, rel.id, idle)
        for t in run.targets:
            t.undo.clear()
        ports = ", ".join(sorted({str(t.ports[idle]) for t in run.targets}))
        log.line(
            f"nginx now sends {app.url} to {idle} (port {ports}), release {rel.id}{_where(run)}"
        )


def _start(run: Run, t: Target, app: App, rel: Release, color: str) -> None:
    """Start the release on `color`; if a stranger holds its port, move the colour to
    a port free on that server (recorded for the app) and try once more."""
    layout, port = t.layout, t.ports[color]
    for attempt in range(2):
        program = render_program(
            app=app.name,
            program=layout.program(color),
            color=color,
            release=rel.id,
            release_dir=layout.release(rel.id),
            port=port,
            user=t.server.user,
            log=layout.program_log(color),
        )
        conf_tmp = f"{layout.tmp}/{layout.program(color)}.conf"
        t.remote.put_bytes(program.encode(), conf_tmp)
        result = t.run(
            f"{standby.clear(layout)} && " + supervisor_cmd.start(layout, color, port, conf_tmp),
            f"starting {color}",
            on_line=lambda line: run.log.output(t.tag + line),
            timeout=120,
            check=False,
        )
        if result.ok:
            t.ports[color] = port
            return
        if result.exit_code != supervisor_cmd.PORT_BUSY or attempt:
            failure = CommandFailed(
                f"starting {color}", result.exit_code, result.stdout + result.stderr
            )
            raise DeployFailed(f"{t.tag}{failure}")
        found = t.run(
            supervisor_cmd.first_free_port(apps.spare_ports(t.server.id)),
            "finding a free port",
            check=False,
        ).stdout.split()
        if not found:
            raise DeployFailed(
                f"{t.tag}port {port} is taken on the server and no spare port is free"
            )
        run.log.line(
            f"{t.tag}port {port} is taken by another process on the server: "
            f"{color} moves to port {found[0]}"
        )
        port = int(found[0])
        apps.set_port(app.id, color, port, server_id=t.server.id)


def _finish(run: Run, t: Target, before: App, rel: Release, old_color: str | None) -> None:
    """Keep the old colour warm for a while, then let it stop; remove what retention
    gave up. One round trip per server; problems are logged, not fatal."""
    commands = []
    old = before.current_release_id if old_color else None
    if old and old != rel.id:
        commands.append(
            f"{{ {standby.mark(t.layout, old_color, old)} && "
            f"{standby.schedule_stop(t.layout, old_color, old, before.standby_minutes * 60)}; }}"
        )
    gone, kept_venvs = _retention(before, rel)
    commands += [
        release.remove(t.layout, sorted(gone)),
        release.remove_venvs_except(t.layout, kept_venvs),
    ]
    try:
        t.run(" && ".join(commands), "finishing (standby, retention)")
    except DeployFailed as e:
        run.log.line(f"warning: {e}", "error")  # the new release serves: not a failure
        return
    if old and old != rel.id:
        run.log.line(
            f"{t.tag}{old_color} keeps release {old} warm for "
            f"{before.standby_minutes:g} min for instant rollback"
        )


def _retention(app: App, rel: Release) -> tuple[set[str], list[str]]:
    removals = releases.choose_removals(releases.for_app(app.id), rel.id, app.keep_releases)
    gone = {r.id for r in removals}
    kept = [r.req_hash for r in releases.for_app(app.id) if releases.usable(r) and r.id not in gone]
    return gone, kept


def _retire(run: Run, app: App, rel: Release) -> None:
    """Record what retention removed (once, for every server)."""
    gone, _ = _retention(app, rel)
    releases.mark_removed(sorted(gone))
    if gone:
        run.log.line("removed old releases: " + ", ".join(sorted(gone)))


def short(commit: str | None) -> str:
    return (commit or "")[:12]


def remove_from_server(
    app: App, keep_files: bool = True, server_name: str | None = None
) -> list[str]:
    """Stop an app's programs and drop its nginx site (and its files, unless kept)
    on each of its servers (or one), under its lock. Returns what was done."""
    owner, done = f"removal of {app.name}", []
    for server, _ports in apps.targets(app):
        if server_name is not None and server.name != server_name:
            continue
        layout = layout_of(app, server)
        with connect(server) as remote:
            remote.run(lock.acquire(layout, owner), label="taking the app lock")
            try:
                remote.run(supervisor_cmd.remove(layout), label="stopping the app")
                remote.run(
                    f"{{ [ ! -f {lock.q(layout.site_conf)} ] || {nginx.remove_site(layout)}; }}",
                    label="removing the nginx site",
                )
                done.append(f"{server.name}: stopped blue and green, removed the nginx site")
            finally:
                if keep_files:
                    remote.run(lock.release(layout, owner), label="releasing the lock")
                else:
                    remote.run(f"rm -rf {lock.q(layout.dir)}", label="deleting the app's files")
                    done.append(f"{server.name}: deleted {layout.dir}")
    return done
