"""Data that outlives releases: paths of the release linked to <app>/shared/.

A release dir is replaced at every deploy and pruned by retention; what the app
writes next to its code (a relative SQLite file, Reflex's uploaded_files/) must
live in shared/ instead, which nothing prunes. Every path is checked by
validate.shared_path before a command is built, so it stays inside both dirs."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from rxpanel import validate
from rxpanel.deploy.commands import account
from rxpanel.deploy.commands.base import AppLayout, q

UPLOADS = "uploaded_files/"  # Reflex's upload dir, relative to the backend dir


def uploads_dir(app: AppLayout) -> str:
    """Where REFLEX_UPLOADED_FILES_DIR points: the linked dir, by its shared path."""
    return f"{app.shared}/{UPLOADS.rstrip('/')}"


def split(paths: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(files, dirs) of validated shared paths, in order, without repeats;
    dirs are the paths that end with '/' (given without it)."""
    files: dict[str, None] = {}
    dirs: dict[str, None] = {}
    for path in paths:
        path = validate.shared_path(path)
        if path.endswith("/"):
            dirs[path.rstrip("/")] = None
        else:
            files[path] = None
    return tuple(files), tuple(d for d in dirs if d not in files)


def link(app: AppLayout, release_id: str, paths: Iterable[str]) -> str:
    """In the release's backend dir, make each path a symlink into shared/.

    A path missing in shared/ is made there first: from the release's own copy
    when it ships one (a committed reflex.db seeds the data once), else empty.
    What is already in shared/ is never overwritten."""
    files, dirs = split(paths)
    steps = [f"cd {q(app.release(release_id) + '/backend')}"]
    steps += [_one(app.shared, path, is_dir=False) for path in files]
    steps += [_one(app.shared, path, is_dir=True) for path in dirs]
    return account.as_app(app, " && ".join(steps))  # what it makes in shared/ is the app's


def _one(shared: str, path: str, *, is_dir: bool) -> str:
    here, there = q(path), q(f"{shared}/{path}")
    parent = posixpath.dirname(path)
    parents = [f"{shared}/{parent}", parent] if parent else [shared]
    test, seed, empty = ("-d", "cp -Rp", "mkdir") if is_dir else ("-f", "cp -p", ": >")
    return (
        f"mkdir -p {' '.join(q(p) for p in parents)} && "
        f"if [ ! -e {there} ]; then "
        f"if [ {test} {here} ] && [ ! -L {here} ]; then {seed} {here} {there}; "
        f"else {empty} {there}; fi; fi && "
        f"rm -rf {here} && ln -s {there} {here}"
    )
