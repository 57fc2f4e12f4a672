"""The SQLite files an app keeps next to its code, read from its rxconfig.py
without running it (a build must not execute the app to learn where it writes).

Found: `db_url="sqlite:///x.db"` given to the Config call, or the default of
`os.getenv("DB_URL", "sqlite:///x.db")` / `os.environ.get(...)` there or in the
module-level variable it names; with no
db_url at all, Reflex's default `sqlite:///reflex.db` when the app uses rx.Model
or rx.session. Only relative paths count: an absolute one is already outside the
release, and a server database is not a file."""

from __future__ import annotations

import ast
from pathlib import Path

from rxpanel import validate

REFLEX_DEFAULT_DB = "sqlite:///reflex.db"
USES_DB = ("rx.Model", "rx.session", "rx.asession")
SKIP_DIRS = {".web", ".states", ".venv", "venv", "node_modules", ".git", "__pycache__"}


def relative_file(db_url: str | None) -> str | None:
    """'x.db' for sqlite:///x.db; None for absolute, in-memory or non-SQLite URLs,
    and for a path the shared-path validator refuses."""
    if not db_url or not db_url.startswith("sqlite:///"):
        return None
    path = db_url[len("sqlite:///") :].split("?", 1)[0]
    if path.startswith("./"):
        path = path[2:]
    if not path or path.startswith("/") or path == ":memory:":
        return None
    try:
        return validate.shared_path(path)
    except validate.ValidationError:
        return None


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and len(node.args) >= 2:  # os.getenv("X", "default")
        name = ast.unparse(node.func)
        if name in ("os.getenv", "getenv", "os.environ.get", "environ.get"):
            return _literal(node.args[1])
    return None


def db_url_of(rxconfig: str) -> tuple[bool, str | None]:
    """(found, value) of the db_url keyword of the Config call in rxconfig.py;
    found with value None when db_url is set to something not known statically."""
    try:
        tree = ast.parse(rxconfig)
    except SyntaxError:
        return False, None
    # db_url=database_url, with `database_url = os.getenv(...)` at module level
    assigned = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("Config"):
            for kw in node.keywords:
                if kw.arg == "db_url":
                    value = kw.value
                    if isinstance(value, ast.Name) and value.id in assigned:
                        value = assigned[value.id]
                    return True, _literal(value)
    return False, None


def uses_models(src: Path) -> bool:
    for path in src.rglob("*.py"):
        if SKIP_DIRS.intersection(path.relative_to(src).parts):
            continue
        text = path.read_text(errors="replace")
        if any(word in text for word in USES_DB):
            return True
    return False


def sqlite_files(src: Path) -> tuple[str, ...]:
    """The relative SQLite files of the app checked out in src."""
    config = src / "rxconfig.py"
    found, url = (
        db_url_of(config.read_text(errors="replace")) if config.is_file() else (False, None)
    )
    if not found and uses_models(src):
        url = REFLEX_DEFAULT_DB
    path = relative_file(url)
    return (path,) if path else ()
