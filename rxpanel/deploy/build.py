"""The local build: checkout, build venv keyed by requirements, `reflex export`,
and a cache so the same source and settings are never built twice.

Runs on the panel host; every external program gets an argv list, never a shell."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from rxpanel import settings, sources
from rxpanel.deploy import envreads, frontend, gitaccess, jail, resolve, sqlite_paths, states
from rxpanel.deploy.build_venv import ensure_build_venv  # noqa: F401 - the builder's API
from rxpanel.deploy.limits import Limits
from rxpanel.deploy.local import BuildError, Log
from rxpanel.deploy.local import run as _run
from rxpanel.deploy.templates.release import bare_names
from rxpanel.validate import ValidationError

BUILD_FORMAT = "4"  # bump when the export command or its settings change
KEEP_CACHED_BUILDS = 8
COPY_IGNORE = shutil.ignore_patterns(".web", ".states", ".venv", "__pycache__", "*.pyc", ".git")
KEEP_IN_WORKSPACE = (".web", ".states", "reflex.lock")  # build caches between exports
STALE_BACKEND_FILES = tuple(
    f".web/backend/{name}"
    for name in ("stateful_pages.json", "bundled_libraries.json", "upload_is_used")
)


@dataclass
class Source:
    """A checked-out source tree in the app's workspace."""

    path: Path
    commit: str
    requirements: bytes  # the resolved set, every package pinned (resolve.py)
    sqlite_files: tuple[str, ...] = ()  # relative SQLite files of its rxconfig.py
    reflex: Version | None = None  # the Reflex version it resolved to

    @property
    def req_hash(self) -> str:
        return requirements_hash(self.requirements)

    @property
    def needs_bun(self) -> bool:
        """Before 0.8.7, Reflex installs bun at every export even with
        REFLEX_USE_NPM set, downloading it unless one is on PATH."""
        return self.reflex is not None and self.reflex < Version("0.8.7")

    @property
    def bare_env(self) -> bool:
        """Reflex up to 0.7.12 reads API_URL, DB_URL... without the REFLEX_ prefix."""
        return self.reflex is not None and self.reflex < Version("0.7.13")


@dataclass
class Build:
    key: str
    dir: Path
    cached: bool
    # the env names the app's code read while its frontend was exported (envreads.py)
    env_reads: tuple[str, ...] | None = None

    @property
    def frontend_zip(self) -> Path:
        return self.dir / "frontend.zip"

    @property
    def backend_zip(self) -> Path:
        return self.dir / "backend.zip"

    @property
    def state_schema(self) -> str:
        """Its state classes as a release records them (deploy/states.py); "" if not known."""
        try:
            text = (self.dir / states.FILE).read_bytes()
        except OSError:
            return ""
        return states.encode(states.parse(text))


def requirements_hash(requirements: bytes) -> str:
    lines = [ln.strip() for ln in requirements.decode().splitlines()]
    normal = "\n".join(ln for ln in lines if ln and not ln.startswith("#"))
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def env_hash(env: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()[:16]


def build_key(*, commit: str, req_hash: str, url: str, env: dict[str, str]) -> str:
    """`env`: the build-time variables only (Plan.build_env); runtime ones change no build."""
    blob = json.dumps([BUILD_FORMAT, commit, req_hash, url, env_hash(env)])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def workspace(app: str) -> Path:
    return settings.get().builds_dir / app


def checkout(
    app: str,
    source: str,
    branch: str,
    ref: str | None,
    log: Log,
    deploy_key: str = "",
    limits: Limits | None = None,
) -> Source:
    """Bring the workspace to the requested commit (git) or a copy of the directory;
    resolve its requirements under the build limits (the panel's defaults if none).
    The source is checked again first (sources.locate): the allowed roots, or where
    a path leads, may have changed since the app was saved."""
    limits = limits or Limits.of(app)
    try:
        where = sources.locate(source)
    except ValidationError as e:
        raise BuildError(str(e)) from None
    src = workspace(app) / "src"
    src.parent.mkdir(parents=True, exist_ok=True)
    if where.git:
        with gitaccess.session(workspace(app), where, deploy_key) as git:
            commit = _git_checkout(git, src, branch, ref, log)
    else:
        for child in list(src.iterdir()) if src.exists() else []:
            if child.name not in KEEP_IN_WORKSPACE:
                shutil.rmtree(
                    child
                ) if child.is_dir() and not child.is_symlink() else child.unlink()
        shutil.copytree(where.local, src, ignore=_copy_ignore, dirs_exist_ok=True, symlinks=True)
        commit = "dir-" + _tree_hash(src)
        log(f"copied {source} ({commit})")
    if not (src / "rxconfig.py").is_file():
        raise BuildError(
            "the source has no rxconfig.py: is it a Reflex app? "
            "(set the app's source to the directory that holds rxconfig.py)"
        )
    refuse_escaping_links(src)
    kept = workspace(app) / "resolved"  # the constraints file uv reads is written there
    kept.mkdir(parents=True, exist_ok=True)
    box, env = jail.for_build(workspace(app), readonly=(src, kept))
    try:
        pinned = resolve.resolve(
            src,
            kept,
            lambda argv, cwd, what: _run(
                argv, cwd=cwd, env=env, what=what, jail=box, limits=limits
            ),
            log,
        )
    except resolve.ResolveError as e:
        raise BuildError(str(e)) from None
    return Source(
        path=src,
        commit=commit,
        requirements=pinned.requirements,
        sqlite_files=sqlite_paths.sqlite_files(src),
        reflex=pinned.reflex,
    )


def _git_checkout(git: gitaccess.Git, src: Path, branch: str, ref: str | None, log: Log) -> str:
    """Clone (or fetch into) the workspace's checkout, then check out the commit."""
    if not (src / ".git").exists():
        shutil.rmtree(src, ignore_errors=True)
        clone = gitaccess.clone_args(git.access, src)
        git.run(*clone, log=log, what=f"git clone {git.access.where.address}")
    else:
        git.run("remote", "set-url", "origin", "--", git.access.where.address, cwd=src)
    fetch = ("fetch", "--quiet", "--force", "--prune", "--tags", "origin")
    git.run(*fetch, "+refs/heads/*:refs/remotes/origin/*", cwd=src, log=log, what="git fetch")
    commit = _resolve(git, src, branch, ref)
    git.run("checkout", "--quiet", "--force", "--detach", commit, cwd=src, what="git checkout")
    # Keep .web and reflex.lock (when untracked): reusing them makes a warm
    # export several times faster.
    keep = [arg for path in KEEP_IN_WORKSPACE for arg in ("-e", f"/{path}")]
    git.run("clean", "-ffdxq", *keep, cwd=src, what="git clean")
    log(f"checked out {git.run('log', '-1', '--format=%h %s', commit, cwd=src)}")
    return commit


def _resolve(git: gitaccess.Git, src: Path, branch: str, ref: str | None) -> str:
    if ref and ref.startswith("HEAD"):  # HEAD~2 means the branch head's, not the workspace's
        ref = f"refs/remotes/origin/{branch}{ref[4:]}"
    candidates = (
        [f"refs/remotes/origin/{ref}", f"refs/tags/{ref}", ref]
        if ref
        else [f"refs/remotes/origin/{branch}"]
    )
    for cand in candidates:
        try:
            return git.run("rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}", cwd=src)
        except BuildError:
            continue
    if ref:
        raise BuildError(f"git ref {ref!r} was not found in the repository")
    raise BuildError(f"branch {branch!r} was not found in the repository")


def _copy_ignore(folder: str, names: list[str]) -> set[str]:
    """What a directory copy leaves out: build caches, and anything that is not a
    file, a directory or a symlink (a FIFO or a device would never end)."""
    skipped = set(COPY_IGNORE(folder, names))
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            skipped.add(name)
    return skipped


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if rel.parts[0] in (".web", ".states"):
            continue
        digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def export(
    app: str,
    source: Source,
    venv: Path,
    *,
    url: str,
    env: dict[str, str],
    log: Log,
    backend_ready: Callable[[Path], None] = lambda zip_path: None,
    limits: Limits | None = None,
) -> Build:
    """`reflex export` with REFLEX_API_URL baked in, or the cached result. `env` is
    the build-time variables only: a runtime one must not be baked into the bundle.

    The backend (the app's Python files, zipped in a moment) is exported first and
    handed to `backend_ready`, so it can start on the servers while the frontend
    compiles and bundles."""
    key = build_key(commit=source.commit, req_hash=source.req_hash, url=url, env=env)
    cache = workspace(app) / "cache"
    out = cache / key
    if (out / "done").exists():
        os.utime(out)
        log(f"reusing build {key} (same source and settings)")
        reads = envreads.kept(out)
        _remember(app, key, source, reads)
        backend_ready(out / "backend.zip")
        return Build(key=key, dir=out, cached=True, env_reads=reads)
    shutil.rmtree(out, ignore_errors=True)  # a build that failed half-way
    out.mkdir(parents=True)
    box, jail_env = jail.for_build(workspace(app), writable=(source.path, out), readonly=(venv,))
    run_env = {
        **jail_env,
        **env,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "REFLEX_API_URL": url,
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    # Before 0.8.7 bun must be there anyway, and it installs the peer dependencies
    # that 0.7's `npm install --legacy-peer-deps` leaves out.
    if not source.needs_bun:
        run_env["REFLEX_USE_NPM"] = "1"
    if source.bare_env:
        run_env = {**bare_names(run_env), **run_env, "API_URL": url}
    # What the last compile left for the backend (the routes with state, the bundled
    # libraries) may not hold for this commit: without it, the backend works them out.
    for stale in STALE_BACKEND_FILES:
        (source.path / stale).unlink(missing_ok=True)
    def jailed(argv: list[str], what: str, extra: dict[str, str] | None = None) -> None:
        _run(
            argv,
            cwd=source.path,
            env={**run_env, **(extra or {})},
            log=log,
            secrets=list(env.values()),
            what=what,
            jail=box,
            limits=limits or Limits.of(app),
        )

    def reflex_export(part: str, extra: dict[str, str] | None = None) -> None:
        jailed(
            [str(venv / "bin" / "reflex"), "export", "--env", "prod", f"--{part}-only"]
            + ["--zip-dest-dir", str(out)],
            f"reflex export ({part})",
            extra,
        )

    reflex_export("backend")
    _produced(out, "backend")
    backend_ready(out / "backend.zip")
    # what the app's code reads while the pages compile (never the values)
    recorder = envreads.install(out, source.path, run_env.get("PYTHONPATH", ""))
    frontend.export(
        src=source.path,
        python=venv / "bin" / "python",
        out=out,
        kept=workspace(app) / "frontends",
        req_hash=source.req_hash,
        build=key,
        commit=source.commit,
        run=lambda argv, what: jailed(argv, what, recorder),
        export_all=lambda: reflex_export("frontend", recorder),
        log=log,
    )
    _produced(out, "frontend")
    reads = envreads.collect(out)
    (out / "done").write_text(json.dumps({"commit": source.commit, "url": url}))
    _remember(app, key, source, reads)
    _prune(cache)
    return Build(key=key, dir=out, cached=False, env_reads=reads)


def _remember(app: str, key: str, source: Source, reads: tuple[str, ...] | None) -> None:
    found = None if reads is None else envreads.ExportReads(reads, key, source.commit)
    envreads.remember(workspace(app), found)


def _produced(out: Path, part: str) -> None:
    if not (out / f"{part}.zip").is_file():
        raise BuildError(f"reflex export did not produce {part}.zip")


def refuse_escaping_links(src: Path) -> None:
    """A committed symlink to ../../secret.key would be shipped with the backend:
    every symlink of the source must stay inside it."""
    root = src.resolve()
    for path in src.rglob("*"):
        rel = path.relative_to(src)
        if rel.parts[0] in (".git", *KEEP_IN_WORKSPACE) or not path.is_symlink():
            continue
        target = path.resolve()
        if target != root and root not in target.parents:
            raise BuildError(
                f"the source has a symlink that leaves it: {rel} -> {os.readlink(path)}; "
                "rxpanel builds only what is inside the repository: remove the link"
            )


def _prune(cache: Path) -> None:
    builds = sorted(
        (p for p in cache.iterdir() if (p / "done").exists()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in builds[KEEP_CACHED_BUILDS:]:
        shutil.rmtree(old, ignore_errors=True)


def remove_workspace(app: str) -> None:
    shutil.rmtree(workspace(app), ignore_errors=True)
