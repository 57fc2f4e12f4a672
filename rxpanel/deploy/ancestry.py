"""Is a pushed commit older than the live one? A replayed push must not roll an app
back. Asked of the app's build workspace: a full clone, so every ancestor of the
live commit is in it, and a commit it lacks is not one of them. It fetches first
only when the live commit itself is missing. No database; git gets argv lists."""

from __future__ import annotations

import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from rxpanel import sources
from rxpanel.deploy import gitaccess
from rxpanel.deploy.build import workspace
from rxpanel.deploy.local import BuildError
from rxpanel.validate import ValidationError

CHECK_REFS = "refs/rxpanel/ancestry"  # a fetch here leaves the build's refs alone
TIMEOUT = 60  # seconds for one git command
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    older: bool | None  # True: the live commit or one before it; None: could not tell
    detail: str


def has_commit(sha: str) -> list[str]:
    return ["cat-file", "-e", f"{sha}^{{commit}}"]


def is_ancestor(old: str, new: str) -> list[str]:
    return ["merge-base", "--is-ancestor", old, new]


def fetch(source: str) -> list[str]:
    return [
        *("-c", "gc.auto=0", "fetch", "--quiet", "--no-tags", "--no-write-fetch-head"),
        *("--", source, f"+refs/heads/*:{CHECK_REFS}/*"),
    ]


def git_argv(src: Path, args: list[str]) -> list[str]:
    """The workspace may belong to the build's own user: reading it is safe."""
    return ["git", "-c", f"safe.directory={src}", *args]


def _lock(app: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(app, threading.Lock())


def compare(app: str, source: str, pushed: str, live: str, deploy_key: str = "") -> Verdict:
    """Where `pushed` stands against the live release's commit `live`. git runs as a
    build's checkout does (gitaccess: the app's deploy key only, jailed)."""
    try:
        where = sources.locate(source)
    except ValidationError as e:
        return Verdict(None, str(e))
    if not where.git:
        return Verdict(False, "the source is a directory, not a git history")
    src = workspace(app) / "src"
    if not (src / ".git").exists():
        return Verdict(None, "the app's build workspace has no git checkout")
    short = pushed[:12]
    try:
        with _lock(app), gitaccess.session(workspace(app), where, deploy_key) as g:

            def git(args: list[str]) -> subprocess.CompletedProcess:
                return g.call(*git_argv(src, args)[1:], cwd=src, timeout=TIMEOUT)

            if git(has_commit(live)).returncode != 0:  # one fetch at a time per app
                fetched = git(fetch(where.address))
                if git(has_commit(live)).returncode != 0:
                    said = (fetched.stderr.strip().splitlines() or ["not in the repository"])[-1]
                    return Verdict(None, f"the live commit {live[:12]} is not found ({said})")
            if git(has_commit(pushed)).returncode != 0:
                return Verdict(False, f"{short} is not in the live commit's history")
            found = git(is_ancestor(pushed, live))
    except (OSError, subprocess.TimeoutExpired, BuildError) as e:
        return Verdict(None, f"git could not answer ({e})")
    if found.returncode == 0:
        same = live.startswith(pushed)
        return Verdict(
            True,
            f"{short} is the live release's commit already"
            if same
            else f"{short} is older than the live release's commit {live[:12]}",
        )
    if found.returncode == 1:
        return Verdict(False, f"{short} is not older than the live release's commit")
    return Verdict(None, (found.stderr.strip().splitlines() or [f"exit {found.returncode}"])[-1])
