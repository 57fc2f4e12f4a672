"""The doctor's checks: each a pure function of the source tree and the app's facts,
returning its findings (one PASS when all is well)."""

from __future__ import annotations

import ast

from packaging.version import Version

from rxpanel import envkinds
from rxpanel.deploy import sqlite_paths
from rxpanel.deploy.doctor import FAIL, PASS, WARN, Facts, Finding
from rxpanel.deploy.doctor.source import UNKNOWN, Tree, env_reads

V = Version
PREFIXED_FROM, BOTH_FROM = V("0.8"), V("0.7.13")  # which env names Reflex reads
NO_AUTO_SETTERS_FROM = DB_EXTRA_FROM = V("0.9")
ENV_NAMES = ("API_URL", "REDIS_URL", "DB_URL")
WORKER_ENV = ("GRANIAN_WORKERS", "GUNICORN_WORKERS", "REFLEX_GUNICORN_WORKERS", "WEB_CONCURRENCY")
SYSTEM_PACKAGE_FILES = ("apt-packages.txt", "Aptfile")


def _reflex(tree: Tree) -> str:
    return f"Reflex {tree.reflex}" if tree.reflex else "Reflex (version unknown)"


def env_name(tree: Tree, base: str) -> str:
    """The name this app's Reflex reads for a setting (REFLEX_REDIS_URL or REDIS_URL)."""
    v = tree.reflex
    return base if v is not None and v < BOTH_FROM else f"REFLEX_{base}"


def source_files(tree: Tree, facts: Facts) -> list[Finding]:
    out = []
    if tree.rxconfig is None:
        out.append(Finding("source", FAIL, "no rxconfig.py: is it a Reflex app?", fatal=True))
    if tree.origin is None:
        out.append(Finding("source", FAIL, tree.no_requirements, fatal=True))
    return out or [Finding("source", PASS, f"rxconfig.py and {tree.origin} are there")]


def reflex_version(tree: Tree, facts: Facts) -> list[Finding]:
    req = tree.requirement("reflex")
    if req is None:
        how = " (it may come from an included file)" if tree.opaque else ""
        return [Finding("reflex", WARN, f"{tree.origin} does not name reflex{how}")]
    resolved = f", resolved to {tree.reflex}" if tree.pinned and tree.reflex else ""
    if tree.declared is None and not resolved:
        return [
            Finding(
                "reflex",
                WARN,
                f"{req} names no version: the build takes today's Reflex; pin one "
                "(reflex==X) so that the version checks know it",
            )
        ]
    return [Finding("reflex", PASS, f"Reflex {tree.reflex} ({req} in {tree.origin}{resolved})")]


def env_names(tree: Tree, facts: Facts) -> list[Finding]:
    """Bare API_URL / REDIS_URL / DB_URL: Reflex >= 0.8 reads only the REFLEX_ names,
    0.7.13-0.7.14 both, 0.7.0-0.7.12 only the bare ones (for those, rxpanel passes
    the REFLEX_ names on under the bare ones too: build.Source.bare_env)."""
    v, env, out = tree.reflex, facts.env, []
    read_by_app = env_reads(tree.rxconfig or "")
    for base in ENV_NAMES:
        bare, prefixed = base in env, f"REFLEX_{base}" in env
        if not bare or base in read_by_app:  # rxconfig.py passes it on itself
            continue
        if v is None and not prefixed:
            out.append(
                Finding(
                    "env-names",
                    WARN,
                    f"{base} is set and the Reflex version is unknown: Reflex >= 0.8 reads "
                    f"only REFLEX_{base} (0.7.13-0.7.14 read both, older ones only {base})",
                )
            )
        elif v is not None and v >= PREFIXED_FROM:
            also = f" (REFLEX_{base} is set too: remove {base})" if prefixed else ""
            out.append(
                Finding(
                    "env-names",
                    WARN,
                    f"{base} is ignored by Reflex {v} (>= 0.8 reads only REFLEX_{base}): "
                    f"rename it to REFLEX_{base}{also}",
                )
            )
    return out or [Finding("env-names", PASS, f"the env names suit {_reflex(tree)}")]


def build_env(tree: Tree, facts: Facts) -> list[Finding]:
    reads = env_reads(tree.rxconfig or "")
    if not reads:
        return [Finding("build-env", PASS, "rxconfig.py reads no env")]
    missing = [n for n, required in reads.items() if required and n not in facts.env]
    out = [
        Finding(
            "build-env",
            WARN,
            f"rxconfig.py reads os.environ[{n!r}] with no default and the app's env has no "
            f"{n}: the build (reflex export runs rxconfig.py) fails unless it is set",
        )
        for n in missing
    ]
    given = sorted(n for n in reads if n in facts.env)
    if given:
        out.append(
            Finding(
                "build-env",
                PASS,
                f"rxconfig.py reads {', '.join(given)} from the env: it is evaluated at build "
                "time too (reflex export, with the app's env), not only when the backend "
                "starts; a changed value makes a new build",
            )
        )
    return out or [Finding("build-env", PASS, f"rxconfig.py reads {', '.join(reads)}")]


def export_env(tree: Tree, facts: Facts) -> list[Finding]:
    """A runtime variable the app's code read while the last build exported its
    frontend (envreads.py): the export never sees it, so what the page shows of it
    is fixed at build time and a change does not reach it (reflex#6564). No finding
    when no build recorded what it read."""
    reads = facts.export_reads
    if reads is None:
        return []
    runtime = [
        n for n in reads.names if n in facts.env and not envkinds.is_build(n, facts.build_keys)
    ]
    if not runtime:
        read = [n for n in reads.names if n in facts.env]
        said = f"reads {', '.join(read)} (build-time)" if read else "reads no variable of its env"
        return [Finding("export-env", PASS, f"the app's code {said} while the frontend is exported")]
    return [
        Finding(
            "export-env",
            WARN,
            f"{n} is read while the frontend is exported (its value at build time is baked "
            "into the bundle) but it is a runtime variable: a change would not reach the "
            f"page. Mark it build-time: rxpanel app env {facts.app} --mark-build {n}",
        )
        for n in runtime
    ]


def sqlite(tree: Tree, facts: Facts) -> list[Finding]:
    found, url = sqlite_paths.db_url_of(tree.rxconfig or "")
    if found and url is None:
        return [Finding("sqlite", PASS, "db_url in rxconfig.py is not a literal: not checked")]
    why = f"db_url {url}"
    if not found:
        if not tree.uses_models:
            return [Finding("sqlite", PASS, "no database file")]
        url = sqlite_paths.REFLEX_DEFAULT_DB
        why = f"no db_url in rxconfig.py, so Reflex's default {url}"
    path = sqlite_paths.relative_file(url)
    if path is None:
        return [Finding("sqlite", PASS, f"{why} is not a relative SQLite file")]
    where = " and ".join(f"{d}/{path}" for d in facts.shared_dirs) or (
        f"<deploy root>/{facts.app}/shared/{path}"
    )
    said = (
        f"{why} is relative: its data lives in {where} "
        f"{'on its servers' if facts.servers > 1 else 'on the server'}, linked into each "
        "release, so it outlives releases"
    )
    if facts.servers > 1:
        said += (
            f"; each of the {facts.servers} servers keeps its own copy: use a database "
            "server (postgresql://...) for a fleet"
        )
        return [Finding("sqlite", WARN, said)]
    return [Finding("sqlite", PASS, said)]


def _model_classes(tree: Tree) -> list[str]:
    """file:line of classes subclassing rx.Model: declared at import, so a missing
    database package fails the build itself."""
    out = []
    for rel, module in tree.modules():
        for node in ast.walk(module):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(b) in ("rx.Model", "reflex.Model") for b in node.bases
            ):
                out.append(f"{rel}:{node.lineno}")
    return out


def db_extra(tree: Tree, facts: Facts) -> list[Finding]:
    if not tree.uses_models:
        return [Finding("db-extra", PASS, "no rx.Model or rx.session")]
    req, v = tree.requirement("reflex"), tree.reflex
    named = "the resolved requirements hold sqlmodel"
    if tree.pinned:
        has_db = "sqlmodel" in tree.pinned_names()
    else:
        has_db = (req is not None and "db" in req.extras) or tree.requirement("sqlmodel")
        named = "the database packages are named"
    if has_db:
        return [Finding("db-extra", PASS, f"rx.Model is used and {named}")]
    if v is not None and v < DB_EXTRA_FROM and not tree.pinned:
        return [Finding("db-extra", PASS, f"Reflex {v} installs its database packages itself")]
    models = _model_classes(tree)
    fix = f"add reflex[db]{'==' + str(v) if v else ''} to {tree.requirements_file}"
    used = f"rx.Model ({', '.join(models[:3])})" if models else "rx.session"
    if v is None or (tree.opaque and not tree.pinned):
        return [
            Finding(
                "db-extra",
                WARN,
                f"the app uses {used}; Reflex >= 0.9 installs no database packages without "
                f"its db extra: {fix} unless another line brings them",
            )
        ]
    return [
        Finding(
            "db-extra",
            FAIL,
            f"the app uses {used} but Reflex {v} installs no database packages without its "
            f"db extra: {fix}",
            fatal=bool(models),
        )
    ]


def _state_classes(tree: Tree) -> dict[str, ast.ClassDef]:
    classes = {
        node.name: node
        for _rel, module in tree.modules()
        for node in ast.walk(module)
        if isinstance(node, ast.ClassDef)
    }
    states: dict[str, ast.ClassDef] = {}
    grew = True
    while grew:
        grew = False
        for name, node in classes.items():
            bases = [ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases]
            if name not in states and any(b.endswith("State") or b in states for b in bases):
                states[name], grew = node, True
    return states


def auto_setter_uses(tree: Tree) -> list[str]:
    """'State.set_x (file:line)' for each set_<var> of a state var that no state
    class defines itself."""
    states = _state_classes(tree)
    declared, explicit = set(), set()
    for node in states.values():
        for item in node.body:
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                declared.add(item.target.id)
            elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                explicit.add(item.name)
    uses: list[str] = []
    for rel, module in tree.modules():
        for node in ast.walk(module):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("set_")):
                continue
            owner = ast.unparse(node.value)
            var = node.attr[4:]
            if (owner in states or owner == "self") and var in declared:
                if node.attr not in explicit:
                    uses.append(f"{owner}.{node.attr} ({rel}:{node.lineno})")
    return list(dict.fromkeys(uses))


def auto_setters(tree: Tree, facts: Facts) -> list[Finding]:
    uses = auto_setter_uses(tree)
    if not uses:
        return [Finding("auto-setters", PASS, "no state auto setters used")]
    shown = ", ".join(uses[:4]) + (f" and {len(uses) - 4} more" if len(uses) > 4 else "")
    if tree.config.get("state_auto_setters") is True:
        return [Finding("auto-setters", PASS, f"{shown}: state_auto_setters=True in rxconfig.py")]
    v = tree.reflex
    if v is not None and v < NO_AUTO_SETTERS_FROM:
        return [Finding("auto-setters", PASS, f"{shown}: Reflex {v} still makes auto setters")]
    fix = (
        "define each setter as an @rx.event, or set state_auto_setters=True in rxconfig.py "
        "(auto setters are off by default since Reflex 0.9)"
    )
    if v is None:
        return [Finding("auto-setters", WARN, f"{shown} rely on auto setters: {fix}")]
    return [Finding("auto-setters", FAIL, f"Reflex {v} makes no setter for {shown}: {fix}")]


def _int(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return 0


def workers(tree: Tree, facts: Facts) -> list[Finding]:
    counts = {name: _int(facts.env[name]) for name in WORKER_ENV if name in facts.env}
    if isinstance(tree.config.get("gunicorn_workers"), int):
        counts["gunicorn_workers in rxconfig.py"] = tree.config["gunicorn_workers"]
    many = {k: n for k, n in counts.items() if n > 1}
    if not many:
        return [Finding("workers", PASS, "one backend worker, or as many as Reflex picks")]
    redis = env_name(tree, "REDIS_URL")
    if tree.config.get("redis_url") or redis in facts.env:
        return [Finding("workers", PASS, "several backend workers share their state in Redis")]
    said = ", ".join(f"{k}={n}" if " " not in k else f"{k} = {n}" for k, n in many.items())
    return [
        Finding(
            "workers",
            WARN,
            f"several backend workers ({said}) without redis_url: each keeps its own state "
            f"in memory, so a client reaching another worker loses it; set {redis} in the "
            "app's env (or redis_url in rxconfig.py)",
        )
    ]


def paths(tree: Tree, facts: Facts) -> list[Finding]:
    out = []
    for key, what in (
        (
            "frontend_path",
            "the nginx site serves the exported frontend at / , so pages and assets under "
            "{value} are not found",
        ),
        (
            "backend_path",
            "the nginx site sends /_event, /ping, /_health and /_upload at the root to the "
            "backend, so {value}/_event reaches it without the websocket upgrade and the "
            "health gate's /ping is not there",
        ),
    ):
        value = tree.config.get(key, facts.env.get(f"REFLEX_{key.upper()}", ""))
        if value is UNKNOWN:
            value = "(not a literal)"
        if value not in ("", "/", None):
            out.append(
                Finding(
                    "paths",
                    WARN,
                    f"{key} {value} is not supported: {what.format(value=value)}; remove it "
                    "(give the app a host name of its own instead)",
                )
            )
    return out or [Finding("paths", PASS, "served at / (no frontend_path or backend_path)")]


def alembic(tree: Tree, facts: Facts) -> list[Finding]:
    has_dir, has_ini = (tree.src / "alembic").is_dir(), (tree.src / "alembic.ini").is_file()
    if has_dir and not has_ini:
        return [
            Finding(
                "alembic",
                WARN,
                "alembic/ without alembic.ini: `reflex db migrate` then does nothing and exits "
                "0, so no migration runs; commit alembic.ini (`reflex db init` makes both)",
            )
        ]
    if has_dir:
        return [Finding("alembic", PASS, "alembic/: `reflex db migrate` runs at each deploy")]
    return [Finding("alembic", PASS, "no alembic/: no migrations run")]


def system_packages(tree: Tree, facts: Facts) -> list[Finding]:
    out = []
    for name in SYSTEM_PACKAGE_FILES:
        text = tree.text(name)
        if text is None:
            continue
        packages = [w for line in text.splitlines() for w in line.split("#", 1)[0].split()]
        if packages:
            out.append(
                Finding(
                    "system-packages",
                    WARN,
                    f"{name} names {', '.join(packages)}: rxpanel installs no system "
                    "packages; install them on every server (and on the panel host, for "
                    "the build)",
                )
            )
    return out or [Finding("system-packages", PASS, "no system packages asked for")]


BUILD = (
    reflex_version,
    env_names,
    build_env,
    sqlite,
    db_extra,
    auto_setters,
    workers,
    paths,
    alembic,
    system_packages,
)
# export_env only after a build: at the start of one, what its export reads is not known
ALL = (source_files, *BUILD, export_env)
