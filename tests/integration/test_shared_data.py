"""Data that lives across releases, end to end on the sandbox: rows a running
release writes to a relative SQLite file and a file it stores in Reflex's upload
dir survive a redeploy, a rollback, and retention removing the release that
wrote them (they live in <app>/shared/, linked into every release). Its
migrations (alembic/, notes.db as rxconfig's db_url) get a snapshot before each
one; a rollback to a release whose migrations end earlier warns first, and a
restore brings back the snapshot's rows."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import AppRepo, free_port, get

pytestmark = pytest.mark.integration

# An API route of the app's own writing next to its code, as many public apps do.
NOTES = """
import sqlite3
from pathlib import Path as _Path


def _uploads() -> _Path:
    return _Path(os.environ.get("REFLEX_UPLOADED_FILES_DIR", "uploaded_files"))


async def notes(request):
    conn = sqlite3.connect("notes.db")
    with conn:
        conn.execute("create table if not exists notes (id integer primary key, body text)")
        if request.method == "POST":
            conn.execute("insert into notes (body) values ('a note')")
            name = request.query_params.get("file")
            if name:
                _uploads().mkdir(parents=True, exist_ok=True)
                (_uploads() / name).write_text("uploaded")
    rows = conn.execute("select count(*) from notes").fetchone()[0]
    conn.close()
    files = sorted(p.name for p in _uploads().iterdir()) if _uploads().is_dir() else []
    return JSONResponse({"rows": rows, "files": files, "uploads": str(_uploads())})

"""


def with_notes(repo: AppRepo) -> None:
    app_py = repo.path / "sampleapp" / "sampleapp.py"
    code = app_py.read_text()
    app_py.write_text(
        code.replace("api = Starlette(", NOTES + "api = Starlette(").replace(
            'routes=[Route("/api/version", version)',
            'routes=[Route("/api/notes", notes, methods=["GET", "POST"]), '
            'Route("/api/version", version)',
        )
    )
    config = repo.path / "rxconfig.py"
    config.write_text(
        config.read_text().replace("rx.Config(", 'rx.Config(db_url="sqlite:///notes.db", ')
    )
    repo.write("alembic.ini", "[alembic]\nscript_location = alembic\n")
    reqs = repo.path / "requirements.txt"  # Reflex's database extra: sqlmodel, alembic
    reqs.write_text(reqs.read_text().replace("reflex==", "reflex[db]=="))
    (repo.path / "alembic" / "versions").mkdir(parents=True)
    add_migration(repo, "a1", None, "tags")
    repo.commit("notes route")


MIGRATION = """from alembic import op

revision = {rev!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("create table if not exists {table} (id integer primary key)")


def downgrade():
    op.execute("drop table {table}")
"""


def add_migration(repo: AppRepo, rev: str, down: str | None, table: str) -> None:
    repo.write(
        f"alembic/versions/{rev}_{table}.py", MIGRATION.format(rev=rev, down=down, table=table)
    )


def test_rows_and_uploads_survive_redeploy_rollback_and_retention(
    cli, sandbox, sandbox_server, tmp_path_factory
):
    repo = AppRepo(tmp_path_factory.mktemp("notes") / "app")
    with_notes(repo)
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        "notes",
        "--server",
        sandbox_server,
        "--source",
        str(repo.path),
        "--url",
        url,
        "--shared-paths",
        "notes.db",
        "--keep-releases",
        "1",
        "--health-timeout",
        "30",
    )
    app_dir = Path(sandbox.deploy_root) / "notes"
    shared = app_dir / "shared"

    def notes() -> dict:
        return get(f"{url}/api/notes").json()

    def version() -> str:
        return get(f"{url}/api/version").json()["version"]

    def deploy() -> None:
        result = cli("deploy", "notes")
        assert result.returncode == 0, result.stdout + result.stderr

    deploy()
    assert notes() == {"rows": 0, "files": [], "uploads": str(shared / "uploaded_files")}
    for i in range(3):
        write = httpx.post(f"{url}/api/notes", params={"file": "photo.txt"} if i == 0 else {})
        assert write.status_code == 200, write.text
    assert notes()["rows"] == 3
    v1 = cli.json("releases", "notes")[0]["id"]
    backend = app_dir / "releases" / v1 / "backend"
    assert os.readlink(backend / "notes.db") == str(shared / "notes.db")
    assert os.readlink(backend / "uploaded_files") == str(shared / "uploaded_files")
    assert (shared / "uploaded_files" / "photo.txt").read_text() == "uploaded"

    add_migration(repo, "b2", "a1", "labels")  # v2 adds a migration
    repo.set_version("v2")  # a visible change: a new build, a new release dir
    deploy()
    assert version() == "v2"
    assert (notes()["rows"], notes()["files"]) == (3, ["photo.txt"])
    heads = {r["id"]: r["schema_heads"] for r in cli.json("releases", "notes")}
    assert sorted(heads.values()) == ["a1", "b2"]
    [snap] = cli.json("db", "snapshots", "notes")  # of the 3 rows, before b2 ran
    assert (snap["release"], snap["file"]) == (cli.json("releases", "notes")[0]["id"], "notes.db")

    warned = cli("rollback", "notes")  # v1's migrations end at a1, the database is at b2
    assert warned.returncode == 2, warned.stdout + warned.stderr
    assert "schema newer than this release: rolling back keeps the newer database" in warned.stderr
    assert "add --yes" in warned.stderr and version() == "v2"
    result = cli("rollback", "notes", "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert version() == "v1"
    assert (notes()["rows"], notes()["files"]) == (3, ["photo.txt"])

    assert httpx.post(f"{url}/api/notes").status_code == 200  # a row the restore takes back
    assert notes()["rows"] == 4
    restored = cli.ok("db", "restore", "notes", snap["name"], "--yes")  # the use case
    assert f"notes.db restored from .snapshots/{snap['name']}" in restored
    assert "alembic revision a1" in restored
    assert notes()["rows"] == 3

    for v in ("v3", "v4"):  # with one good release kept, v1 leaves the server
        repo.set_version(v)
        deploy()
    assert version() == "v4"
    assert not (app_dir / "releases" / v1).exists()
    assert (notes()["rows"], notes()["files"]) == (3, ["photo.txt"])
    assert (shared / "notes.db").is_file() and not (shared / "notes.db").is_symlink()
