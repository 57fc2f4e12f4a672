"""Release directories, the current symlink, and retention."""

from __future__ import annotations

from rxpanel.deploy.commands import account
from rxpanel.deploy.commands.base import AppLayout, q


def prepare(app: AppLayout) -> str:
    """The login's dirs; with an app user, account.ensure_user makes its own ones."""
    dirs = [app.releases, app.logs, app.tmp]
    if not app.host.isolated:
        dirs[1:1] = [app.venvs, app.shared, app.home]
    return "mkdir -p " + " ".join(q(d) for d in dirs)


UNZIP = (
    "import sys, zipfile\n"
    "for archive, dest in zip(sys.argv[1::2], sys.argv[2::2]):\n"
    "    zipfile.ZipFile(archive).extractall(dest)"
)


def unpack_backend(app: AppLayout, release_id: str, backend_zip: str) -> str:
    """A fresh release dir with the uploaded backend unzipped; the zip is removed after."""
    rel = app.release(release_id)
    back = f"{rel}/backend"
    return (
        f"rm -rf {q(rel)} && mkdir -p {q(back)} && "
        f"python3 -c {q(UNZIP)} {q(backend_zip)} {q(back)} && rm -f {q(backend_zip)}"
    )


def unpack_frontend(app: AppLayout, release_id: str, frontend_zip: str) -> str:
    """The uploaded frontend into the release, which is then complete: its
    release.json (written as .part with the backend) takes its name."""
    rel = app.release(release_id)
    front = f"{rel}/frontend"
    return (
        f"rm -rf {q(front)} && mkdir -p {q(front)} && "
        f"python3 -c {q(UNZIP)} {q(frontend_zip)} {q(front)} && rm -f {q(frontend_zip)} && "
        f"mv {q(rel + '/release.json.part')} {q(rel + '/release.json')}"
    )


def copy(app: AppLayout, kept_id: str, new_id: str) -> str:
    """A new release of the same build: the kept release's backend and frontend
    copied as they are (owners, modes, the links into shared/); its env, run.sh and
    release.json are written after. The dir is the login's (it writes those);
    the copy needs root when the files are the app user's."""
    old, new = app.release(kept_id), app.release(new_id)
    parts = " ".join(q(f"{old}/{part}") for part in ("backend", "frontend"))
    return f"mkdir {q(new)} && " + account.as_root(app, f"cp -a {parts} {q(new + '/')}")


def exists(app: AppLayout, release_id: str) -> str:
    return f"test -f {q(app.release(release_id) + '/release.json')}"


def list_ids(app: AppLayout) -> str:
    return f"ls -1 {q(app.releases)} 2>/dev/null || true"


def activate(app: AppLayout, release_id: str, color: str) -> str:
    """Flip `current` atomically (symlink to a temp name, then rename over) and
    record what is live."""
    tmp = f"{app.dir}/.current.tmp"
    return (
        f"ln -sfn {q('releases/' + release_id)} {q(tmp)} && mv -T {q(tmp)} {q(app.current)} && "
        f"printf '%s %s\\n' {q(color)} {q(release_id)} > {q(app.live_marker)}"
    )


def read_live(app: AppLayout) -> str:
    return f"cat {q(app.live_marker)} 2>/dev/null || true"


def remove(app: AppLayout, release_ids: list[str]) -> str:
    if not release_ids:
        return "true"
    return account.as_root(app, "rm -rf " + " ".join(q(app.release(r)) for r in release_ids))


def remove_venvs_except(app: AppLayout, keep_hashes: list[str]) -> str:
    """Delete server venvs no kept release uses."""
    keep = " ".join(q(h) for h in sorted(set(keep_hashes))) or "''"
    return account.as_app(
        app,
        f"cd {q(app.venvs)} 2>/dev/null && for v in *; do "
        f'[ -d "$v" ] || continue; keep=0; for k in {keep}; do [ "$v" = "$k" ] && keep=1; done; '
        f'[ $keep = 1 ] || rm -rf -- "$v" "$v.requirements.txt"; done; true',
    )


def tail_log(app: AppLayout, color: str, lines: int = 30) -> str:
    return f"tail -n {int(lines)} {q(app.program_log(color))} 2>/dev/null || true"


def free_kib(app: AppLayout) -> str:
    """Kibibytes available to the app directory's filesystem."""
    return f"df -Pk {q(app.dir)} | awk 'NR == 2 {{print $4}}'"
