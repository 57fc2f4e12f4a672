"""The frontend half of a build, bundled only when the compiled frontend changed.

Most changes to a Reflex app are Python only (an event handler, a query): the
pages Reflex compiles into .web/ come out byte for byte the same, and bundling
them again is most of a warm build. So the build compiles first (the same step
`reflex export` starts with), fingerprints what the bundler reads (.web/ without
node_modules, the bundle's output and Reflex's own run timestamps, plus the
requirements, which fix Reflex, node and every package), and when a bundle of that
fingerprint is kept, it is the frontend of this build too. Else it bundles and
keeps the result. Whatever goes wrong before the bundler (an older Reflex without
these functions), `reflex export --frontend-only` does it all, as before."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from rxpanel.deploy import states
from rxpanel.deploy.local import BuildError, Log

KEEP = 5  # bundles kept per app
# Not what the bundler reads: its output, the installed packages (the lock file
# says which), the backend's files, and timestamps Reflex writes at each run.
SKIP = {"node_modules", "build", "_static", ".next", ".react-router", "backend", "reflex.json"}

# Run with the build venv's python in the app's source dir (in the jail): compile
# the app and write .web/ as `reflex export` does before it bundles; then the map of
# its state classes to argv[1] (deploy/states.py).
COMPILE = (
    """\
import inspect
import sys
from pathlib import Path
from reflex import constants
from reflex.utils import build, prerequisites
try:
    from reflex.environment import environment
except ImportError:
    from reflex.config import environment
environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
wanted = {"export": True, "prerender_routes": True, "trigger": "export"}
accepted = inspect.signature(prerequisites.get_compiled_app).parameters
prerequisites.get_compiled_app(**{k: v for k, v in wanted.items() if k in accepted})
build.setup_frontend(Path.cwd())
"""
    + states.DUMP
)

# Then, when no kept bundle matches: bundle and zip the frontend into argv[1].
BUNDLE = """\
import sys
from reflex import constants
from reflex.utils import build
try:
    from reflex.environment import environment
except ImportError:
    from reflex.config import environment
environment.REFLEX_ENV_MODE.set(constants.Env.PROD)
build.build()
build.zip_app(frontend=True, backend=False, zip_dest_dir=sys.argv[1])
"""

Runner = Callable[[list[str], str], None]  # (argv, what): runs it in the jail or raises


def fingerprint(src: Path, req_hash: str) -> str:
    """What the bundler reads, as one hash."""
    digest = hashlib.sha256(f"requirements {req_hash}\0".encode())
    web = src / ".web"
    for dirpath, dirnames, filenames in os.walk(web):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
        for name in sorted(f for f in filenames if f not in SKIP):
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            digest.update(path.relative_to(web).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def export(
    *,
    src: Path,
    python: Path,
    out: Path,
    kept: Path,
    req_hash: str,
    build: str,
    commit: str,
    run: Runner,
    export_all: Callable[[], None],
    log: Log,
) -> None:
    """frontend.zip into `out`: a kept bundle of the same compiled frontend, or a new one."""
    try:
        (out / states.FILE).unlink(missing_ok=True)
        run([str(python), "-c", COMPILE, str(out / states.FILE)], "reflex compile (frontend)")
        mark = fingerprint(src, req_hash)
    except BuildError as e:
        log(f"frontend: could not compile on its own ({e}); bundling with reflex export")
        export_all()
        return
    found = kept / mark
    meta = _meta(found)
    if meta and (found / "frontend.zip").is_file():
        shutil.copyfile(found / "frontend.zip", out / "frontend.zip")
        os.utime(found)
        log(
            f"frontend unchanged: reused the bundle of build {meta['build']} "
            f"(commit {meta['commit'][:12]}); the bundler did not run"
        )
        return
    log(f"frontend changed (or not bundled before): bundling ({mark})")
    try:
        run([str(python), "-c", BUNDLE, str(out)], "reflex export (frontend)")
    except BuildError as e:  # its own error comes again, if it is the app's
        log(f"frontend: bundling on its own failed ({e}); bundling with reflex export")
        (out / "frontend.zip").unlink(missing_ok=True)
        export_all()
        # on a cold workspace the export made .web/ complete (packages, scripts):
        # keep the bundle under what the next compile will find
        mark = fingerprint(src, req_hash)
    _keep(kept, mark, out / "frontend.zip", {"build": build, "commit": commit})


def _meta(found: Path) -> dict | None:
    try:
        return json.loads((found / "meta.json").read_text())
    except (OSError, ValueError):
        return None


def _keep(kept: Path, mark: str, zip_path: Path, meta: dict) -> None:
    if not zip_path.is_file():
        return
    part = kept / f".{mark}.part"
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    shutil.copyfile(zip_path, part / "frontend.zip")
    (part / "meta.json").write_text(json.dumps(meta))
    shutil.rmtree(kept / mark, ignore_errors=True)
    part.rename(kept / mark)
    bundles = sorted(
        (p for p in kept.iterdir() if not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in bundles[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
