"""deploy() and rollback(): the steps of DESIGN.md, each logged with its duration.

A failure at any step raises DeployFailed with the reason in plain words; the
cleanup stops whatever this run started, nginx still points at the old release,
and the server lock is released in a `finally`."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

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
from rxpanel.services import apps, deployments, releases, servers


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
class Run:
    """One deployment in progress: what it works on and what to undo on failure."""

    dep: Deployment
    app: App
    server: Server
    layout: AppLayout
    env: dict[str, str]
    log: StepLog
    remote: Remote | None = None
    undo: list[str] = field(default_factory=list)  # remote commands, run on failure

    @property
    def owner(self) -> str:
        return lock_owner(self.dep)

    def run(self, command: str, label: str, **kw):
        assert self.remote is not None
        try:
            return self.remote.run(command, label=label, **kw)
        except CommandFailed as e:
            raise DeployFailed(str(e)) from None
        except RemoteError as e:
            raise DeployFailed(str(e)) from None


def lock_owner(dep: Deployment) -> str:
    return f"deployment #{dep.id} ({dep.runner})"


def execute(dep: Deployment, cancel: threading.Event | None = None) -> str:
    """Run a claimed deployment; returns a one-line summary or raises DeployFailed."""
    app = apps.get_by_id(dep.app_id)
    server = servers.get_by_id(app.server_id)
    env = apps.env_of(app)
    secrets = list(env.values())
    run = Run(dep, app, server, layout_of(app, server), env, StepLog(dep.id, secrets, cancel))
    try:
        return _rollback(run) if dep.kind == "rollback" else _deploy(run)
    except (RemoteError, builder.BuildError) as e:
        raise DeployFailed(str(e)) from None


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
    # The build needs no server: it starts now, beside the connection, the lock and
    # the server venv (DESIGN step 3). Leaving the pool waits for it, so no step
    # of this deployment logs after its outcome.
    with ThreadPoolExecutor(1) as pool:
        build = None if cached else pool.submit(_build, run, source)
        with _locked(run):
            if (
                cached
                and run.run(release.exists(run.layout, cached.id), "check release", check=False).ok
            ):
                log.line(f"release {cached.id} already holds this build: no build, no upload")
                rel = cached
            else:
                rel = _upload(run, source, key, build or pool.submit(_build, run, source))
            deployments.set_fields(run.dep.id, release_id=rel.id)
            _activate(run, rel)
    return (
        f"release {rel.id} ({short(source.commit)}) is live on {apps.get_by_id(app.id).live_color}"
    )


def _build(run: Run, source: builder.Source) -> builder.Build:
    with run.log.step("build"):
        try:
            venv = builder.ensure_build_venv(source, run.log.output)
            return builder.export(
                run.app.name, source, venv, url=run.app.url, env=run.env, log=run.log.output
            )
        except builder.BuildError as e:
            raise DeployFailed(str(e)) from None


def _upload(run: Run, source: builder.Source, key: str, build: Future) -> Release:
    """Make the server venv (while the build runs), then upload and unpack the build."""
    log, app, layout = run.log, run.app, run.layout
    run.run(release.prepare(layout), "preparing the app directory")
    with log.step("server venv"):
        run.remote.put_bytes(
            source.requirements, venv_cmd.requirements_path(layout, source.req_hash)
        )
        run.run(
            venv_cmd.ensure(layout, source.req_hash),
            "creating the server venv",
            timeout=1800,
            on_line=log.output,
        )
    made = build.result()

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
    run.undo.append(release.remove(layout, [rel_id]))
    with log.step("upload"):
        started, size = (
            time.monotonic(),
            made.frontend_zip.stat().st_size + made.backend_zip.stat().st_size,
        )
        zips = {}
        for part in ("frontend", "backend"):
            zips[part] = f"{layout.tmp}/{rel_id}.{part}.zip"
            run.remote.put_file(
                str(made.dir / f"{part}.zip"), zips[part], label=f"upload of {part}.zip"
            )
        log.line(f"uploaded {size / 1e6:.1f} MB in {time.monotonic() - started:.2f} s")
        run.run(
            release.unpack(layout, rel_id, zips["frontend"], zips["backend"]),
            "unpacking the release",
        )
        rel_dir = layout.release(rel_id)
        run.remote.put_bytes(render_env_file(run.env, app.url).encode(), f"{rel_dir}/env", 0o600)
        run.remote.put_bytes(
            render_run_script(
                app=app.name,
                release=rel_id,
                release_dir=rel_dir,
                venv=layout.venv(source.req_hash),
                home=f"{layout.shared}/home",
            ).encode(),
            f"{rel_dir}/run.sh",
            0o755,
        )
        run.remote.put_bytes(
            render_release_json(
                id=rel_id,
                app=app.name,
                commit=source.commit,
                build=key,
                requirements=source.req_hash,
                url=app.url,
                deployment=run.dep.id,
            ).encode(),
            f"{rel_dir}/release.json",
        )
    releases.set_status(rel_id, "ready")
    with log.step("migrate"):
        run.run(
            venv_cmd.migrate(layout, rel_id, source.req_hash),
            "reflex db migrate",
            on_line=log.output,
            timeout=600,
        )
    run.undo.remove(release.remove(layout, [rel_id]))
    return releases.get(rel_id)


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
        if not run.run(release.exists(run.layout, target.id), "check release", check=False).ok:
            releases.mark_removed([target.id])
            raise DeployFailed(f"release {target.id} is no longer on the server")
        _activate(run, target)
    return f"rolled back to release {target.id} ({short(target.commit)})"


# -- shared: lock, start, gate, switch, finish --------------------------------


@contextmanager
def _locked(run: Run) -> Iterator[None]:
    with run.log.step("lock"):
        try:
            run.remote = connect(run.server, run.log.secrets)
        except RemoteError as e:
            raise DeployFailed(str(e)) from None
        _acquire(run)
    try:
        yield
    except BaseException:
        _undo(run)
        raise
    finally:
        _unlock(run)


def _acquire(run: Run) -> None:
    deadline = time.monotonic() + 15
    while True:
        result = run.run(lock.acquire(run.layout, run.owner), "taking the app lock", check=False)
        if result.ok:
            run.log.line(f"locked {run.layout.lock}")
            return
        if result.exit_code != lock.LOCKED_EXIT:
            raise DeployFailed(f"cannot take the app lock: {result.stderr.strip()}")
        holder = result.stderr.strip().removeprefix("locked by: ")
        if _stale(holder):
            run.log.line(f"removing a stale lock left by {holder}")
            run.run(f"rm -rf {lock.q(run.layout.lock)}", "removing a stale lock")
            continue
        if holder != "standby-stop" or time.monotonic() > deadline:
            raise DeployFailed(f"{run.app.name} is locked on the server by {holder}")
        time.sleep(0.5)  # the standby stop holds the lock for a moment


def _stale(holder: str) -> bool:
    """A lock left by a deployment that has finished (its process died)."""
    if not holder.startswith("deployment #"):
        return False
    number = holder.removeprefix("deployment #").split(" ")[0]
    return number.isdigit() and deployments.is_final(int(number))


def _undo(run: Run) -> None:
    if not run.undo:
        return
    try:
        if run.remote is None or not run.remote.conn.is_connected:
            run.remote = connect(run.server, run.log.secrets)
        for command in reversed(run.undo):
            run.remote.run(command, label="cleanup", check=False, timeout=120)
        run.log.line("cleaned up: the previous release keeps serving")
    except Exception as e:  # noqa: BLE001 - the failure itself is already recorded
        run.log.line(f"cleanup failed: {e}", "error")


def _unlock(run: Run) -> None:
    for attempt in range(3):
        try:
            if run.remote is None or not run.remote.conn.is_connected:
                run.remote = connect(run.server, run.log.secrets)
            run.remote.run(
                lock.release(run.layout, run.owner), label="releasing the lock", timeout=60
            )
            run.log.line("lock released")
            break
        except (RemoteError, OSError) as e:
            if attempt == 2:
                run.log.line(
                    f"could not release the lock: {e}; the next deploy will remove it", "error"
                )
            time.sleep(1)
    if run.remote is not None:
        run.remote.close()


def _activate(run: Run, rel: Release) -> None:
    """Start the release on the idle colour, gate on health, switch nginx, finish."""
    log, layout = run.log, run.layout
    app = apps.get_by_id(run.app.id)
    live, idle = app.live_color, other_color(app.live_color)
    port = app.port_green if idle == "green" else app.port_blue
    warm = run.run(standby.read(layout), "reading the standby").stdout.strip() == f"{idle} {rel.id}"

    run.undo.append(supervisor_cmd.stop(layout, idle))  # whatever runs on idle is not serving
    if warm:
        log.line(f"release {rel.id} is still warm on {idle}: no restart needed")
        run.undo.append(standby.clear(layout))
    else:
        with log.step(f"start {idle}"):
            port = _start(run, app, rel, idle, port)

    with log.step("health gate"):
        gate = run.run(
            health_cmd.gate(layout, idle, port, app.health_path, app.health_timeout),
            "health gate",
            check=False,
            timeout=app.health_timeout + 60,
        )
        if not gate.ok:
            for line in run.run(
                release.tail_log(layout, idle), "reading the app log"
            ).stdout.splitlines():
                log.output(f"[{idle}] {line}")
            reason = (gate.stdout.strip().splitlines() or ["no answer"])[-1]
            releases.set_status(rel.id, "bad", reason)
            raise DeployFailed(f"release {rel.id} failed the health gate on port {port}: {reason}")
        log.line(gate.stdout.strip())

    with log.step("switch"):
        site = render_site(
            app=app.name,
            url=app.url,
            release=rel.id,
            release_dir=layout.release(rel.id),
            color=idle,
            port=port,
        )
        site_tmp = f"{layout.tmp}/site.conf"
        run.remote.put_bytes(site.encode(), site_tmp)
        result = run.run(
            f"{nginx.install_site(layout, site_tmp)} && {release.activate(layout, rel.id, idle)}",
            "switching nginx",
            check=False,
        )
        if not result.ok:
            reason = (
                " | ".join(result.stderr.strip().splitlines()[-3:]) or f"exit {result.exit_code}"
            )
            releases.set_status(rel.id, "bad", reason)
            raise DeployFailed(f"the switch failed, the previous site config was kept: {reason}")
        apps.set_live(app.id, rel.id, idle)
        run.undo.clear()
        log.line(f"nginx now sends {app.url} to {idle} (port {port}), release {rel.id}")

    with log.step("finish"):
        _finish(run, app, rel, live)


def _start(run: Run, app: App, rel: Release, color: str, port: int) -> int:
    """Start the release on `color`; if a stranger holds its port, move the colour to
    a port free on the server (recorded for the app) and try once more."""
    layout = run.layout
    for attempt in range(2):
        program = render_program(
            app=app.name,
            program=layout.program(color),
            color=color,
            release=rel.id,
            release_dir=layout.release(rel.id),
            port=port,
            user=run.server.user,
            log=layout.program_log(color),
        )
        conf_tmp = f"{layout.tmp}/{layout.program(color)}.conf"
        run.remote.put_bytes(program.encode(), conf_tmp)
        result = run.run(
            f"{standby.clear(layout)} && " + supervisor_cmd.start(layout, color, port, conf_tmp),
            f"starting {color}",
            on_line=run.log.output,
            timeout=120,
            check=False,
        )
        if result.ok:
            return port
        if result.exit_code != supervisor_cmd.PORT_BUSY or attempt:
            raise DeployFailed(
                str(
                    CommandFailed(
                        f"starting {color}", result.exit_code, result.stdout + result.stderr
                    )
                )
            )
        candidates = apps.spare_ports(app.server_id)
        found = run.run(
            supervisor_cmd.first_free_port(candidates), "finding a free port", check=False
        ).stdout.split()
        if not found:
            raise DeployFailed(f"port {port} is taken on the server and no spare port is free")
        run.log.line(
            f"port {port} is taken by another process on the server: "
            f"{color} moves to port {found[0]}"
        )
        port = int(found[0])
        apps.set_port(app.id, color, port)
    raise AssertionError("unreachable")


def _finish(run: Run, before: App, rel: Release, old_color: str | None) -> None:
    """Keep the old colour warm for a while, then let it stop; apply retention.
    One round trip. Problems here are logged, not fatal: the new release serves."""
    log, layout, commands = run.log, run.layout, []
    old = before.current_release_id if old_color else None
    if old and old != rel.id:
        seconds = before.standby_minutes * 60
        commands.append(
            f"{{ {standby.mark(layout, old_color, old)} && "
            f"{standby.schedule_stop(layout, old_color, old, seconds)}; }}"
        )
    removals = releases.choose_removals(releases.for_app(before.id), rel.id, before.keep_releases)
    gone = {r.id for r in removals}
    kept = [
        r.req_hash for r in releases.for_app(before.id) if releases.usable(r) and r.id not in gone
    ]
    commands += [release.remove(layout, sorted(gone)), release.remove_venvs_except(layout, kept)]
    try:
        run.run(" && ".join(commands), "finishing (standby, retention)")
    except DeployFailed as e:
        log.line(f"warning: {e}", "error")
        return
    if old and old != rel.id:
        log.line(
            f"{old_color} keeps release {old} warm for {before.standby_minutes:g} min "
            "for instant rollback"
        )
    releases.mark_removed(sorted(gone))
    if removals:
        log.line("removed old releases: " + ", ".join(sorted(gone)))


def short(commit: str | None) -> str:
    return (commit or "")[:12]


def remove_from_server(app: App, keep_files: bool = True) -> list[str]:
    """Stop an app's programs and drop its nginx site (and its files, unless kept),
    under its lock. Returns what was done, line by line."""
    server = servers.get_by_id(app.server_id)
    layout = layout_of(app, server)
    owner = f"removal of {app.name}"
    done = []
    with connect(server) as remote:
        remote.run(lock.acquire(layout, owner), label="taking the app lock")
        try:
            remote.run(supervisor_cmd.remove(layout), label="stopping the app")
            done.append("stopped blue and green, removed their supervisor programs")
            remote.run(
                f"{{ [ ! -f {lock.q(layout.site_conf)} ] || {nginx.remove_site(layout)}; }}",
                label="removing the nginx site",
            )
            done.append("removed the nginx site")
        finally:
            if keep_files:
                remote.run(lock.release(layout, owner), label="releasing the lock")
            else:
                remote.run(f"rm -rf {lock.q(layout.dir)}", label="deleting the app's files")
                done.append(f"deleted {layout.dir}")
    return done
