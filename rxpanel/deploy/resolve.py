"""Which dependencies an app is built and served with.

An app's requirements were right when they were written; its unpinned
dependencies moved on since (today's sqlmodel breaks Reflex 0.7/0.8's pydantic
patch, today's SQLAlchemy no longer brings greenlet). So an app pinned to an
older Reflex line is resolved as of the time that Reflex was current (uv's
`--exclude-newer`), a lower bound on an older line stays on that line, and a lock
file is taken as it is. The resolved set is what the build venv and every
server venv install, so a rollback or a new server gets exactly the same.

The policy is pure (`policy`); `resolve` runs uv."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import tomllib
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from rxpanel.deploy.jail import python as jail_python

# The window after a release in which its dependencies still fitted it (measured:
# +7 to +14 days built every app of the corpus; see bench/COMPAT_FINDINGS.md).
WINDOW = timedelta(days=14)
OLDEST = Version("0.7.0")  # below: never tried, refused in one sentence
RELEASES_URL = "https://pypi.org/pypi/reflex/json"
RELEASES_MAX_AGE = 24 * 3600

Log = Callable[[str], None]


class ResolveError(RuntimeError):
    """One sentence: what is wrong with the app's requirements and how to fix it."""


@dataclass(frozen=True)
class Policy:
    exclude_newer: date | None  # resolve as of this day
    constraint: str | None  # e.g. "reflex<0.9": stay on the line the app names
    why: str  # one line for the deploy log

    @property
    def args(self) -> list[str]:
        return ["--exclude-newer", self.exclude_newer.isoformat()] if self.exclude_newer else []


@dataclass(frozen=True)
class Resolved:
    requirements: bytes  # every package pinned: what build and servers install
    reflex: Version | None
    origin: str  # the file it came from


def parse_releases(doc: dict) -> dict[Version, date]:
    """PyPI's JSON for reflex -> {version: upload day} (yanked files skipped)."""
    out: dict[Version, date] = {}
    for name, files in doc.get("releases", {}).items():
        files = [f for f in files if not f.get("yanked")]
        try:
            version = Version(name)
        except InvalidVersion:
            continue
        if files:
            out[version] = date.fromisoformat(min(f["upload_time"] for f in files)[:10])
    return out


def reflex_spec(lines: list[str]) -> SpecifierSet | None:
    """The specifier of `reflex` (with any extras) among requirement lines; None
    when the app does not name reflex; an empty set when it names it bare."""
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        if req.name.lower() == "reflex":
            return req.specifier
    return None


def policy(spec: SpecifierSet | None, releases: dict[Version, date]) -> Policy:
    finals = sorted(v for v in releases if not v.is_prerelease and not v.is_devrelease)
    if spec is None:
        raise ResolveError("the requirements do not name reflex: add a line such as reflex==0.10.1")
    if not finals or not str(spec):
        return Policy(None, None, "reflex is not pinned: today's releases")
    newest_line = finals[-1].release[:2]
    allowed = [v for v in finals if spec.contains(v)] or [
        v for v in releases if spec.contains(v, prereleases=True)
    ]
    if not allowed:
        raise ResolveError(f"no Reflex release matches reflex{spec}: fix the pin")
    exact = [s for s in spec if s.operator in ("==", "===") and "*" not in s.version]
    lower = [Version(s.version) for s in spec if s.operator in (">=", "~=", ">")]
    if exact:
        target = Version(exact[0].version)
    elif lower:
        line = max(lower).release[:2]
        target = max([v for v in allowed if v.release[:2] == line] or allowed)
    else:  # only upper bounds: the newest it allows
        target = max(allowed)
    if target < OLDEST:
        raise ResolveError(
            f"reflex{spec} is older than Reflex {OLDEST}, which rxpanel does not build: "
            f"move the app to Reflex {OLDEST} or newer"
        )
    line = target.release[:2]
    if line == newest_line:
        return Policy(None, None, f"reflex{spec}: the current line ({target}), today's releases")
    released = releases.get(target)
    constraint = None if exact else f"reflex<{line[0]}.{line[1] + 1}"
    if released is None:
        return Policy(None, constraint, f"reflex{spec}: {target} (release date unknown)")
    until = released + WINDOW
    stay = f", kept on the {line[0]}.{line[1]} line" if constraint else ""
    return Policy(
        until,
        constraint,
        f"reflex{spec}: Reflex {target} (released {released}){stay}; "
        f"dependencies as of {until}, when it was current",
    )


def releases(cache: Path, log: Log) -> dict[Version, date]:
    """Reflex's release days from PyPI, kept for a day in `cache`."""
    try:
        if time.time() - cache.stat().st_mtime < RELEASES_MAX_AGE:
            return parse_releases(json.loads(cache.read_text()))
    except (OSError, ValueError):
        pass
    import httpx

    try:
        doc = httpx.get(RELEASES_URL, timeout=20, follow_redirects=True).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as e:
        if cache.exists():
            log(f"PyPI's list of Reflex releases could not be read ({e}): using the copy kept")
            return parse_releases(json.loads(cache.read_text()))
        log(f"PyPI's list of Reflex releases could not be read ({e}): today's releases")
        return {}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"releases": doc.get("releases", {})}))
    return parse_releases(doc)


def source_of(src: Path) -> tuple[str, list[str]]:
    """(the requirements file, its requirement lines): uv.lock first (with its
    pyproject.toml), then requirements.txt, then pyproject.toml."""
    pyproject = src / "pyproject.toml"
    if (src / "uv.lock").is_file() and pyproject.is_file():
        return "uv.lock", _pyproject_lines(pyproject)
    if (src / "requirements.txt").is_file():
        return "requirements.txt", (src / "requirements.txt").read_text().splitlines()
    if pyproject.is_file():
        return "pyproject.toml", _pyproject_lines(pyproject)
    raise ResolveError(
        "the source has no requirements.txt, pyproject.toml or uv.lock: "
        "add a requirements.txt naming reflex"
    )


def check_python(src: Path, python: str | None = None) -> None:
    """Refuse before any build an app whose pyproject.toml excludes the Python
    that builds and serves it."""
    python = python or ".".join(map(str, sys.version_info[:3]))
    path = src / "pyproject.toml"
    if not path.is_file():
        return
    try:
        wanted = tomllib.loads(path.read_text()).get("project", {}).get("requires-python")
        if wanted and not SpecifierSet(wanted).contains(python, prereleases=True):
            raise ResolveError(
                f"the app requires Python {wanted} (pyproject.toml) and rxpanel builds and "
                f"serves with Python {python}: allow {python} in requires-python"
            )
    except (tomllib.TOMLDecodeError, InvalidSpecifier):
        return  # source_of says what is wrong with it


def _pyproject_lines(path: Path) -> list[str]:
    try:
        doc = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ResolveError(f"pyproject.toml cannot be read ({e}): fix its syntax") from None
    return list(doc.get("project", {}).get("dependencies", []))


def resolve(src: Path, cache_dir: Path, run: Callable[..., str], log: Log) -> Resolved:
    """The pinned set for the app in `src`, resolved once per requirements and kept
    in `cache_dir`: the same requirements always get the same versions.

    `run(argv, cwd=..., what=...)` runs a program and returns its output."""
    from uv import find_uv_bin

    origin, lines = source_of(src)
    check_python(src)
    kept = kept_file(src, cache_dir, origin)
    key = kept.stem
    if kept.is_file():
        pinned = kept.read_bytes()
        log(f"requirements ({origin}): resolved before, {_count(pinned)} packages kept")
        return Resolved(pinned, pinned_reflex(pinned), origin)
    uv = find_uv_bin()
    if origin == "uv.lock":
        log("requirements: uv.lock, installed as locked")
        out = run(
            [
                uv,
                "export",
                "--frozen",
                "--no-hashes",
                "--no-dev",
                "--no-emit-project",
                "--no-header",
                "--format",
                "requirements-txt",
                "--quiet",
            ],
            cwd=src,
            what="reading uv.lock (uv export)",
        )
    else:
        chosen = policy(reflex_spec(lines), releases(cache_dir / "reflex-releases.json", log))
        log(f"requirements ({origin}): {chosen.why}")
        constraints = []
        if chosen.constraint:
            cfile = cache_dir / f"{key}.constraints.txt"
            cfile.parent.mkdir(parents=True, exist_ok=True)
            cfile.write_text(chosen.constraint + "\n")
            constraints = ["-c", str(cfile)]
        out = run(
            [
                uv,
                "pip",
                "compile",
                "--quiet",
                "--no-header",
                "--no-annotate",
                "--python",
                jail_python(),
                *chosen.args,
                *constraints,
                origin,
            ],
            cwd=src,
            what="resolving the app's requirements (uv pip compile)",
        )
    pinned = (out.strip() + "\n").encode()
    cache_dir.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(pinned)
    log(f"resolved {_count(pinned)} packages: reflex {pinned_reflex(pinned) or '?'}")
    return Resolved(pinned, pinned_reflex(pinned), origin)


def kept_file(src: Path, cache_dir: Path, origin: str) -> Path:
    """Where the pinned set of these very requirements is kept once resolved."""
    raw = b"".join((src / name).read_bytes() for name in _inputs(origin))
    return cache_dir / f"{hashlib.sha256(raw).hexdigest()[:16]}.txt"


def _inputs(origin: str) -> tuple[str, ...]:
    return ("uv.lock", "pyproject.toml") if origin == "uv.lock" else (origin,)


def _count(pinned: bytes) -> int:
    return sum(1 for ln in pinned.decode().splitlines() if "==" in ln and not ln.startswith("#"))


PIN = re.compile(r"^reflex(?:\[[^\]]*\])?==([^\s;#]+)", re.IGNORECASE | re.MULTILINE)


def pinned_reflex(pinned: bytes) -> Version | None:
    found = PIN.search(pinned.decode(errors="replace"))
    try:
        return Version(found.group(1)) if found else None
    except InvalidVersion:
        return None
