"""The server venvs (made while the build runs), the backend with its launcher,
migrations (once, on the primary server), and the frontend that completes the
release."""

from __future__ import annotations

import dataclasses
import secrets as pysecrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rxpanel.deploy import schema
from rxpanel.deploy.commands import account, release
from rxpanel.deploy.commands import venv as venv_cmd
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.plan import ReleaseInfo
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.remote import RemoteError
from rxpanel.deploy.steps import store
from rxpanel.deploy.steps.shared import env_defaults, migrated, paths_of, snapshot_first
from rxpanel.deploy.templates.release import (
    render_env_file,
    render_release_json,
    render_run_script,
)


def new_release_id() -> str:
    """Sortable by time: 20261121T180102-ab12cd."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + pysecrets.token_hex(3)


def server_venv(run: Run) -> None:
    source, log = run.source, run.log

    def one(t: Target) -> None:
        t.run(release.prepare(t.layout), "preparing the app directory")
        app_user(run, t)
        with log.step(f"server venv{t.suffix}"):
            t.remote.put_bytes(
                source.requirements, venv_cmd.staged_requirements(t.layout, source.req_hash)
            )
            t.run(
                venv_cmd.ensure(t.layout, source.req_hash),
                "creating the server venv",
                timeout=1800,
                on_line=lambda line: log.output(t.tag + line),
            )

    run.each(one, "making the server venv")


def app_user(run: Run, t: Target) -> None:
    """The app's own Unix user on the server, or one line on what is missing without it."""
    if t.layout.host.isolated:
        out = t.run(account.ensure_user(t.layout), "making the app's Unix user").stdout
        for line in out.splitlines():
            if line.startswith("made the Unix user"):
                run.log.line(t.tag + line)
        return
    run.log.line(
        f"{t.tag}warning: the app runs as {t.plan.user}, the SSH login, like every app on "
        f"{t.name}: without root or sudo there is no Unix user per app, so the apps there "
        "can read each other's env and data (give the login sudo to isolate them)",
        "error",
    )


def isolate(run: Run) -> None:
    """The release's files to the app's user (a reused or rolled-back release too,
    which may be older than the user: then it is made here)."""
    rel, again = run.release, run.reused or run.base is not None or run.plan.kind == "rollback"

    def one(t: Target) -> None:
        if again:
            app_user(run, t)
        t.run(account.own_release(t.layout, rel.id), "giving the release to the app's user")

    run.each(one, "giving the release to the app's user")


def upload_backend(run: Run) -> None:
    """The backend and its launcher everywhere, as soon as the build has it."""
    source, env = run.source, dict(run.plan.env)
    backend_zip = run.building.backend_zip()
    heads, database = schema.of_backend(backend_zip, env)
    rel = ReleaseInfo(
        id=new_release_id(),
        commit=source.commit,
        status="new",
        req_hash=source.req_hash,
        build_key=run.key,
        schema_heads=heads,
        database=database,
    )
    run.journal.release_created(rel, env)
    run.release = rel

    def send(t: Target) -> None:
        t.undo.append(release.remove(t.layout, [rel.id]))  # until the frontend is there
        with run.log.step(f"upload backend{t.suffix}"):
            send_zip(run, t, backend_zip, lambda z: release.unpack_backend(t.layout, rel.id, z))
            write_launcher(run, t, "release.json.part")  # named when complete

    run.each(send, "the upload")


def write_launcher(run: Run, t: Target, meta_name: str) -> None:
    """The release's env file (the plan's whole env), run.sh and release.json."""
    app, source, rel = run.app, run.source, run.release
    rel_dir = t.layout.release(rel.id)
    meta = render_release_json(
        id=rel.id,
        app=app.name,
        commit=source.commit,
        build=run.key,
        requirements=source.req_hash,
        reflex=str(source.reflex or ""),
        url=app.url,
        deployment=run.plan.deployment_id,
        shared=list(paths_of(run)),
    )
    files = [
        (
            render_env_file(
                dict(run.plan.env),
                app.url,
                {**env_defaults(t), **store.env(run, t)},
                bare=source.bare_env,
            ),
            f"{rel_dir}/env",
            0o600,
        ),
        (
            render_run_script(
                app=app.name,
                release=rel.id,
                release_dir=rel_dir,
                venv=t.layout.venv(source.req_hash),
                home=t.layout.home,
            ),
            f"{rel_dir}/run.sh",
            0o755,
        ),
        (meta, f"{rel_dir}/{meta_name}", 0o644),
    ]
    for text, path, mode in files:
        t.put_bytes(text.encode(), path, mode)


def migrate(run: Run) -> None:
    primary = run.primary
    with run.log.step("migrate"):
        try:
            snapshot_first(run)
            primary.run(
                venv_cmd.migrate(primary.layout, run.release.id, run.source.req_hash),
                "reflex db migrate",
                on_line=run.log.output,
                timeout=600,
            )
        except DeployFailed as e:
            raise DeployFailed(f"{primary.tag}{e}") from None  # one server: say which
    migrated(run)
    run.unfinished = True  # from here a failure makes the release bad


def unfinished_is_bad(run: Run, error: BaseException) -> None:
    """Undo: a release that never became complete cannot come back."""
    if run.unfinished and isinstance(error, Exception):
        run.journal.release_status(run.release.id, "bad", str(error))
        run.unfinished = False


def upload_frontend(run: Run) -> None:
    """The static frontend into the release everywhere; then the release is complete."""
    rel, made = run.release, run.building.done.result()
    schema = getattr(made, "state_schema", "")
    if schema and schema != rel.state_schema:  # known once the build compiled
        run.release = rel = dataclasses.replace(rel, state_schema=schema)
        run.journal.release_states(rel.id, schema)

    def send(t: Target) -> None:
        with run.log.step(f"upload frontend{t.suffix}"):
            send_zip(
                run, t, made.frontend_zip, lambda z: release.unpack_frontend(t.layout, rel.id, z)
            )
            t.run(account.own_frontend(t.layout, rel.id), "giving the frontend to nginx's group")
        t.undo.remove(release.remove(t.layout, [rel.id]))

    run.each(send, "the upload")
    run.journal.release_status(rel.id, "ready")
    run.unfinished = False


def send_zip(run: Run, t: Target, zip_path: Path, unpack: Callable[[str], str]) -> None:
    """Upload one zip of the build and unpack it (`unpack` is given the upload's path)."""
    started, size = time.monotonic(), zip_path.stat().st_size
    # the zip, and what it unpacks to (about three times its size), must fit
    free = t.run(release.free_kib(t.layout), "checking free space").stdout.strip()
    if free.isdigit() and int(free) * 1024 < size * 4:
        raise t.fail(
            f"not enough disk space on the server: {int(free) / 1024:.1f} MB "
            f"free in {t.layout.dir}, about {size * 4 / 1e6:.1f} MB needed"
        )
    remote_zip = f"{t.layout.tmp}/{zip_path.parent.name}.{zip_path.name}"
    try:
        t.remote.put_file(str(zip_path), remote_zip, label=f"upload of {zip_path.name}")
    except RemoteError as e:
        raise t.fail(str(e)) from None
    run.log.line(
        f"{t.tag}uploaded {zip_path.name} ({size / 1e6:.2f} MB) "
        f"in {time.monotonic() - started:.2f} s"
    )
    t.run(unpack(remote_zip), f"unpacking {zip_path.name}")
