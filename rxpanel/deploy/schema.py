"""What a release knows about its database, read from the build without running
the app: the alembic head(s) its migrations end at, and whether its database is
a server (PostgreSQL, MySQL) rather than SQLite files in shared/.

Heads: every `alembic/versions/*.py` names its `revision` and `down_revision`
(None, one id, or a tuple for a merge); the heads are the revisions no other
names as its down revision. Branch labels and depends_on do not change them."""

from __future__ import annotations

import ast
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from rxpanel.deploy.sqlite_paths import db_url_of

VERSIONS = "alembic/versions/"
SERVER_SCHEMES = {
    "postgresql": "PostgreSQL",
    "postgres": "PostgreSQL",
    "mysql": "MySQL",
    "mariadb": "MySQL",
}
ENV_KEYS = ("REFLEX_DB_URL", "DB_URL")  # the app's env wins over rxconfig.py, in this order


def _ids(node: ast.AST) -> tuple[str, ...]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (node.value,)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(v for elt in node.elts for v in _ids(elt))
    return ()  # None, or something not known statically


def revision_of(text: str) -> tuple[str | None, tuple[str, ...]]:
    """(revision, down revisions) of one migration file; (None, ()) if it names none."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None, ()
    found: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            found[target.id] = _ids(value)
    rev = found.get("revision", ())
    return (rev[0] if rev else None), found.get("down_revision", ())


def heads(texts: Iterable[str]) -> tuple[str, ...]:
    """The head revisions of a set of migration files, sorted."""
    revisions: set[str] = set()
    downs: set[str] = set()
    for text in texts:
        rev, down = revision_of(text)
        if rev:
            revisions.add(rev)
            downs.update(down)
    return tuple(sorted(revisions - downs))


def _zip_texts(backend_zip: Path) -> tuple[list[str], str]:
    """(migration files, rxconfig.py) of a backend zip (its root is the project)."""
    migrations, rxconfig = [], ""
    with zipfile.ZipFile(backend_zip) as z:
        for name in z.namelist():
            rest = name[len(VERSIONS) :] if name.startswith(VERSIONS) else ""
            if rest.endswith(".py") and "/" not in rest:
                migrations.append(z.read(name).decode(errors="replace"))
            elif name == "rxconfig.py":
                rxconfig = z.read(name).decode(errors="replace")
    return migrations, rxconfig


def db_url(rxconfig: str, env: Mapping[str, str]) -> str | None:
    """The app's database URL as its backend will see it: REFLEX_DB_URL or DB_URL in
    its env, else the literal (or getenv default) db_url in rxconfig.py."""
    for key in ENV_KEYS:
        if env.get(key):
            return env[key]
    return db_url_of(rxconfig)[1]


def server_db(url: str | None) -> str | None:
    """'PostgreSQL at db.internal:5432' for a server database, else None. Never
    the user or password: only the kind and the host (and port) are shown."""
    if not url or "://" not in url:
        return None
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    kind = SERVER_SCHEMES.get(scheme)
    if kind is None:
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "localhost", parts.port
    except ValueError:
        return f"{kind} at an address that could not be read"
    return f"{kind} at {host}:{port}" if port else f"{kind} at {host}"


def no_snapshot_note(database: str) -> str:
    return f"the database is {database}: rxpanel takes no snapshot; its backups are yours"


def of_backend(backend_zip: Path, env: Mapping[str, str]) -> tuple[str, str]:
    """(heads, server database) of a built backend, as a release records them:
    heads space separated ('' without migrations), the database '' for SQLite."""
    migrations, rxconfig = _zip_texts(backend_zip)
    return " ".join(heads(migrations)), server_db(db_url(rxconfig, env)) or ""
