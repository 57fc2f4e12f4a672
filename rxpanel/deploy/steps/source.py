"""Checkout and the local build: the build starts beside the server work (the
lock, the server venvs) and its backend is ready seconds before its frontend."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rxpanel.deploy import build as local_build
from rxpanel.deploy import doctor, envreads, local
from rxpanel.deploy.doctor import checks
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run


def checkout(run: Run) -> None:
    app, log = run.app, run.log
    with log.step("checkout"), local.cancelled_by(log.cancel):
        try:
            source = run.builder.checkout(
                app.name, app.source, app.branch, run.plan.ref, log.output, app.deploy_key
            )
        except local_build.BuildError as e:
            raise DeployFailed(str(e)) from None
        run.journal.commit_resolved(source.commit)
        run.source = source
        run.key = run.builder.build_key(
            commit=source.commit, req_hash=source.req_hash, url=app.url, env=run.plan.build_env
        )
        run.cached = run.plan.reusable(run.key)
        examine(run)


def examine(run: Run) -> None:
    """The doctor's findings, one line each, before the long part of the build: a
    FAIL the build cannot survive stops it here (unless a kept release of this very
    build exists: it was built, so the doctor is wrong about it)."""
    facts = doctor.Facts(
        run.app.name,
        dict(run.plan.env),
        tuple(t.layout.shared for t in run.targets),
        pinned=run.source.requirements.decode(errors="replace") or None,
    )
    try:
        findings = doctor.run(Path(run.source.path), facts, doctor.build_checks())
    except Exception as e:  # noqa: BLE001 - the doctor never breaks a build itself
        run.log.line(f"doctor: could not check the source ({e.__class__.__name__}: {e})")
        return
    for finding in findings:
        if finding.level != doctor.PASS:
            run.log.line(f"doctor: {finding}", "error" if finding.level == doctor.FAIL else "warn")
    run.log.line(f"doctor: {doctor.summary(findings)}")
    fatal = next((f for f in findings if f.fatal), None)
    if fatal is not None and run.cached is None:
        raise DeployFailed(f"doctor: {fatal.message}")


@dataclass
class Building:
    """A build under way."""

    backend: Future  # the backend zip's Path
    done: Future  # the build.Build

    @classmethod
    def start(cls, run: Run) -> Building:
        backend: Future = Future()
        return cls(backend, run.pool.submit(_build, run, backend))

    def backend_zip(self) -> Path:
        try:
            return self.backend.result()
        except DeployFailed:
            self.done.result()  # raises the build's own error
            raise


def _build(run: Run, backend: Future):
    with run.log.step("build"), local.cancelled_by(run.log.cancel):
        try:
            venv = run.builder.ensure_build_venv(run.source, run.log.output)
            built = run.builder.export(
                run.app.name,
                run.source,
                venv,
                url=run.app.url,
                env=run.plan.build_env,  # runtime variables never reach the export
                log=run.log.output,
                backend_ready=backend.set_result,
            )
            warn_export_reads(run, getattr(built, "env_reads", None))
            return built
        except local_build.BuildError as e:
            raise DeployFailed(str(e)) from None
        finally:
            if not backend.done():
                backend.set_exception(DeployFailed("the build stopped"))


def warn_export_reads(run: Run, names: tuple[str, ...] | None) -> None:
    """The doctor's export-env warnings in the deploy log, once the export has told
    which variables the app's code read."""
    if names is None:
        return
    facts = doctor.Facts(
        run.app.name,
        dict(run.plan.env),
        build_keys=run.app.build_env_keys,
        export_reads=envreads.ExportReads(names),
    )
    for finding in checks.export_env(None, facts):  # type: ignore[arg-type] - needs no tree
        if finding.level != doctor.PASS:
            run.log.line(f"doctor: {finding}", "warn")


def start_build(run: Run) -> None:
    """The build needs no server: it starts now unless a kept release holds it."""
    run.pool = ThreadPoolExecutor(1)
    if run.cached is None:
        run.building = Building.start(run)


def wait_for_build(run: Run) -> None:
    """No step of this deployment logs after its outcome: the build ends first."""
    if run.pool is not None:
        run.pool.shutdown(wait=True)


def reuse(run: Run) -> None:
    """A kept release of this very build that every server still holds goes live
    again: no build, no upload; with another env, a copy of it does (env_change.py).
    Otherwise the build starts (if it has not)."""
    cached = run.cached
    if cached is not None and all(_has(run, t, cached.id) for t in run.targets):
        if cached.env_hash != local_build.env_hash(dict(run.plan.env)):
            run.base = cached
            return
        run.log.line(f"release {cached.id} already holds this build: no build, no upload")
        run.journal.release_used(cached.id)
        run.release, run.reused = cached, True
        return
    if run.building is None:
        run.building = Building.start(run)


def _has(run: Run, t, release_id: str) -> bool:
    from rxpanel.deploy.commands import release

    try:
        return t.run(release.exists(t.layout, release_id), "check release", check=False).ok
    except DeployFailed as e:
        raise DeployFailed(f"{t.tag}{e}") from None  # outside a fleet result: say where


def building_new(run: Run) -> bool:
    return not run.reused and run.base is None


def reason_first(step):
    """Code that will not start often will not build either: when starting or the
    gate fails while the build failed too, the build's own error is the reason."""

    def run_step(run: Run) -> None:
        try:
            step(run)
        except DeployFailed as failed:
            if run.building is None:
                raise
            raise run.building.done.exception() or failed from None

    run_step.__name__ = step.__name__
    return run_step
