"""Which env variables an app's own code reads while its frontend is exported.

A runtime variable never reaches `reflex export` (envkinds.py), so code that
reads one while the pages are compiled bakes its absence into the bundle, and a
change of it never reaches the page (reflex#6564). The build puts a recorder
(envreads_site.py, as sitecustomize.py) first on the PYTHONPATH of its frontend
programs; it writes the names (never the values) the app's modules look up. The
build keeps them with its output (env_reads.json), and the app's workspace keeps
those of its last build (export_reads.json) for the doctor (checks.export_env).

The names come from the app's own process, so they are checked like any input:
env-key shaped, and not too many."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from rxpanel.validate import ENV_KEY

SITE = Path(__file__).with_name("envreads_site.py")
DIR = ".envreads"  # in the build's output dir, writable in the jail
KEPT = "env_reads.json"  # the build's names, beside its zips
LAST = "export_reads.json"  # in the app's workspace: those of its last build
MAX_NAMES = 500


@dataclass(frozen=True)
class ExportReads:
    """The names the app read while the frontend of one build was exported."""

    names: tuple[str, ...]
    build: str = ""
    commit: str = ""


def install(out: Path, src: Path, pythonpath: str = "") -> dict[str, str]:
    """The recorder for the programs that export the frontend into `out` from the
    checkout `src`: the env they run with on top of the build's (a PYTHONPATH with
    the recorder first). {} when it cannot be set up: the build goes on unrecorded."""
    where = out / DIR
    try:
        shutil.rmtree(where, ignore_errors=True)
        where.mkdir(parents=True)
        shutil.copyfile(SITE, where / "sitecustomize.py")
        (where / "envreads.json").write_text(json.dumps({"src": str(src)}))
    except OSError:
        return {}
    return {"PYTHONPATH": os.pathsep.join(p for p in (str(where), pythonpath) if p)}


def collect(out: Path) -> tuple[str, ...] | None:
    """What the recorder's processes wrote, kept as the build's env_reads.json (and
    the recorder removed); None when no recorder ran (nothing is known)."""
    where = out / DIR
    found: set[str] | None = None
    for part in sorted(where.glob("reads-*.json")) if where.is_dir() else ():
        try:
            names = json.loads(part.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(names, list):
            found = (found or set()) | {n for n in names if _name(n)}
    shutil.rmtree(where, ignore_errors=True)
    if found is None:
        return None
    names = tuple(sorted(found)[:MAX_NAMES])
    try:
        (out / KEPT).write_text(json.dumps(list(names)))
    except OSError:
        pass
    return names


def kept(out: Path) -> tuple[str, ...] | None:
    """The names a finished build kept (None: built before they were recorded)."""
    names = _load(out / KEPT)
    return tuple(sorted(n for n in names if _name(n))[:MAX_NAMES]) if names is not None else None


def remember(workspace: Path, reads: ExportReads | None) -> None:
    """The app's last build's names, for the doctor (forgotten when they are unknown)."""
    path = workspace / LAST
    try:
        if reads is None:
            path.unlink(missing_ok=True)
            return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"names": list(reads.names), "build": reads.build, "commit": reads.commit})
        )
        tmp.replace(path)
    except OSError:
        pass


def last(workspace: Path) -> ExportReads | None:
    data = _load(workspace / LAST)
    if not isinstance(data, dict) or not isinstance(data.get("names"), list):
        return None
    names = tuple(sorted(n for n in data["names"] if _name(n))[:MAX_NAMES])
    return ExportReads(names, str(data.get("build", "")), str(data.get("commit", "")))


def _load(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _name(value) -> bool:
    return isinstance(value, str) and ENV_KEY.fullmatch(value) is not None
