"""The doctor's checks, each on a small source tree in tmp_path, by their exact
findings; and the doctor at the start of a build (fake servers and build)."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from rxpanel.deploy import doctor, engine
from rxpanel.deploy.doctor import FAIL, PASS, WARN, Facts, Finding
from rxpanel.deploy.doctor import checks as c
from rxpanel.deploy.doctor.source import Tree, env_reads, version_of
from rxpanel.deploy.envreads import ExportReads
from tests.unit.deploy.fakes import FakeBuilder, Fleet, MemoryJournal


class Resolved010(FakeBuilder):
    """The fake build, its requirements resolved to Reflex 0.10.1 alone."""

    def checkout(self, app, source, branch, ref, log, deploy_key=""):
        found = super().checkout(app, source, branch, ref, log)
        found.requirements, found.reflex = b"reflex==0.10.1\n", Version("0.10.1")
        return found


RXCONFIG = 'import reflex as rx\n\nconfig = rx.Config(app_name="shop")\n'
SHARED = "/srv/rxpanel/shop/shared"


def tree(tmp_path: Path, files: dict[str, str], reflex: str | None = "reflex==0.10.1") -> Tree:
    files = {"rxconfig.py": RXCONFIG, **files}
    if reflex is not None and "requirements.txt" not in files:
        files["requirements.txt"] = reflex + "\n"
    for rel, text in files.items():
        if text is None:
            continue
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return Tree(tmp_path)


def run(check, tmp_path, files=None, env=None, shared=(SHARED,), **kw) -> list[tuple]:
    found = check(tree(tmp_path, files or {}, **kw), Facts("shop", env or {}, shared))
    return [(f.level, f.message) for f in found]


@pytest.mark.parametrize(
    "line, version",
    [
        ("reflex==0.10.1", "0.10.1"),
        ("reflex>=0.8.2,<0.11", "0.8.2"),
        ("reflex[db]~=0.9.0", "0.9.0"),
        ("reflex==0.7.*", "0.7"),
        ("reflex", None),
        ("reflex @ git+https://github.com/reflex-dev/reflex", None),
    ],
)
def test_the_reflex_version_is_a_pin_or_a_lower_bound(line, version):
    assert version_of(Requirement(line)) == (Version(version) if version else None)


def test_no_rxconfig_or_requirements_fails(tmp_path):
    (tmp_path / "app.py").write_text("")
    found = c.source_files(Tree(tmp_path), Facts("shop"))
    assert found == [
        Finding("source", FAIL, "no rxconfig.py: is it a Reflex app?", fatal=True),
        Finding(
            "source",
            FAIL,
            "the source has no requirements.txt, pyproject.toml or uv.lock: "
            "add a requirements.txt naming reflex",
            fatal=True,
        ),
    ]


def test_an_unpinned_or_missing_reflex_warns(tmp_path):
    assert run(c.reflex_version, tmp_path, reflex="reflex") == [
        (
            WARN,
            "reflex names no version: the build takes today's Reflex; pin one (reflex==X) "
            "so that the version checks know it",
        )
    ]
    assert run(c.reflex_version, tmp_path, {"requirements.txt": "-r base.txt\n"}) == [
        (WARN, "requirements.txt does not name reflex (it may come from an included file)")
    ]


def test_bare_env_names_are_ignored_from_reflex_0_8(tmp_path):
    env = {"DB_URL": "postgresql://db/x", "REDIS_URL": "redis://r", "REFLEX_REDIS_URL": "x"}
    assert run(c.env_names, tmp_path, env=env) == [
        (
            WARN,
            "REDIS_URL is ignored by Reflex 0.10.1 (>= 0.8 reads only REFLEX_REDIS_URL): "
            "rename it to REFLEX_REDIS_URL (REFLEX_REDIS_URL is set too: remove REDIS_URL)",
        ),
        (
            WARN,
            "DB_URL is ignored by Reflex 0.10.1 (>= 0.8 reads only REFLEX_DB_URL): "
            "rename it to REFLEX_DB_URL",
        ),
    ]


def test_env_names_by_reflex_version(tmp_path):
    env = {"REFLEX_DB_URL": "sqlite:///x.db", "API_URL": "http://x"}
    assert run(c.env_names, tmp_path, env=env, reflex="reflex==0.7.14") == [
        (PASS, "the env names suit Reflex 0.7.14")
    ]
    # up to 0.7.12 rxpanel passes the REFLEX_ names on under the bare ones too
    assert run(c.env_names, tmp_path, env=env, reflex="reflex==0.7.5") == [
        (PASS, "the env names suit Reflex 0.7.5")
    ]
    assert run(c.env_names, tmp_path, env={"DB_URL": "x"}, reflex="reflex") == [
        (
            WARN,
            "DB_URL is set and the Reflex version is unknown: Reflex >= 0.8 reads only "
            "REFLEX_DB_URL (0.7.13-0.7.14 read both, older ones only DB_URL)",
        )
    ]


def test_the_resolved_reflex_wins_over_the_declared_bound(tmp_path):
    tree(tmp_path, {"requirements.txt": "reflex>=0.7\n"})
    found = c.env_names(Tree(tmp_path, "reflex==0.9.2\n"), Facts("shop", {"DB_URL": "x"}))
    assert [f.message for f in found] == [
        "DB_URL is ignored by Reflex 0.9.2 (>= 0.8 reads only REFLEX_DB_URL): "
        "rename it to REFLEX_DB_URL"
    ]
    pinned = Tree(tmp_path, "reflex==0.9.2\n")
    assert c.reflex_version(pinned, Facts("shop")) == [
        Finding("reflex", PASS, "Reflex 0.9.2 (reflex>=0.7 in requirements.txt, resolved to 0.9.2)")
    ]


def test_pyproject_dependencies_are_the_requirements(tmp_path):
    files = {
        "requirements.txt": None,
        "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["reflex[db]>=0.9.1"]\n',
        "shop/models.py": MODELS,
    }
    t = tree(tmp_path, files)
    assert (t.origin, str(t.reflex)) == ("pyproject.toml", "0.9.1")
    assert c.db_extra(t, Facts("shop")) == [
        Finding("db-extra", PASS, "rx.Model is used and the database packages are named")
    ]


def test_a_bare_name_rxconfig_reads_itself_is_not_ignored(tmp_path):
    config = (
        'import os, reflex as rx\nconfig = rx.Config(app_name="a", db_url=os.getenv("DB_URL"))\n'
    )
    found = run(c.env_names, tmp_path, {"rxconfig.py": config}, env={"DB_URL": "x"})
    assert found == [(PASS, "the env names suit Reflex 0.10.1")]


def test_rxconfig_reads_env_at_build_time(tmp_path):
    config = """\
        import os
        import reflex as rx
        config = rx.Config(app_name="a", api_url=os.environ.get("PUBLIC"), x=os.environ["KEY"])
        """
    assert env_reads(textwrap.dedent(config)) == {"PUBLIC": False, "KEY": True}
    assert run(c.build_env, tmp_path, {"rxconfig.py": config}, env={"PUBLIC": "x"}) == [
        (
            WARN,
            "rxconfig.py reads os.environ['KEY'] with no default and the app's env has no KEY: "
            "the build (reflex export runs rxconfig.py) fails unless it is set",
        ),
        (
            PASS,
            "rxconfig.py reads PUBLIC from the env: it is evaluated at build time too "
            "(reflex export, with the app's env), not only when the backend starts; a "
            "changed value makes a new build",
        ),
    ]
    assert run(c.build_env, tmp_path) == [(PASS, "rxconfig.py reads no env")]


def test_a_relative_sqlite_file_lives_in_shared(tmp_path):
    config = 'import reflex as rx\nconfig = rx.Config(app_name="a", db_url="sqlite:///reflex.db")\n'
    assert run(c.sqlite, tmp_path, {"rxconfig.py": config}) == [
        (
            PASS,
            "db_url sqlite:///reflex.db is relative: its data lives in "
            "/srv/rxpanel/shop/shared/reflex.db on the server, linked into each release, "
            "so it outlives releases",
        )
    ]


def test_the_default_sqlite_file_of_a_fleet_is_one_copy_per_server(tmp_path):
    files = {
        "shop/models.py": "import reflex as rx\nclass Item(rx.Model, table=True):\n    x: int\n"
    }
    found = run(c.sqlite, tmp_path, files, shared=(SHARED, "/opt/apps/shop/shared"))
    assert found == [
        (
            WARN,
            "no db_url in rxconfig.py, so Reflex's default sqlite:///reflex.db is relative: "
            "its data lives in /srv/rxpanel/shop/shared/reflex.db and "
            "/opt/apps/shop/shared/reflex.db on its servers, linked into each release, so it "
            "outlives releases; each of the 2 servers keeps its own copy: use a database "
            "server (postgresql://...) for a fleet",
        )
    ]
    assert run(c.sqlite, tmp_path / "none", shared=()) == [(PASS, "no database file")]


MODELS = """\
    import reflex as rx

    class Item(rx.Model, table=True):
        name: str
    """


def test_rx_model_without_the_db_extra_fails_on_reflex_0_9(tmp_path):
    found = c.db_extra(tree(tmp_path, {"shop/models.py": MODELS}), Facts("shop"))
    assert found == [
        Finding(
            "db-extra",
            FAIL,
            "the app uses rx.Model (shop/models.py:3) but Reflex 0.10.1 installs no database "
            "packages without its db extra: add reflex[db]==0.10.1 to requirements.txt",
            fatal=True,
        )
    ]


def test_the_resolved_set_says_whether_the_database_packages_come(tmp_path):
    t = tree(tmp_path, {"shop/models.py": MODELS})
    with_db = Facts("shop", pinned="reflex==0.10.1\nsqlmodel==0.0.24\n")
    assert c.db_extra(Tree(t.src, with_db.pinned), with_db) == [
        Finding("db-extra", PASS, "rx.Model is used and the resolved requirements hold sqlmodel")
    ]
    [missing] = c.db_extra(Tree(t.src, "reflex==0.10.1\n"), Facts("shop"))
    assert (missing.level, missing.fatal) == (FAIL, True)


def test_rx_session_without_the_db_extra_fails_but_not_the_build(tmp_path):
    files = {"shop/state.py": "import reflex as rx\ndef f():\n    with rx.session() as s: pass\n"}
    [finding] = c.db_extra(tree(tmp_path, files), Facts("shop"))
    assert (finding.level, finding.fatal) == (FAIL, False)
    assert finding.message.startswith("the app uses rx.session but Reflex 0.10.1")


@pytest.mark.parametrize(
    "reqs, says",
    [
        ("reflex[db]==0.10.1", (PASS, "rx.Model is used and the database packages are named")),
        (
            "reflex==0.10.1\nsqlmodel",
            (PASS, "rx.Model is used and the database packages are named"),
        ),
        ("reflex==0.8.5", (PASS, "Reflex 0.8.5 installs its database packages itself")),
    ],
)
def test_the_db_extra_is_there(tmp_path, reqs, says):
    assert run(c.db_extra, tmp_path, {"m.py": MODELS, "requirements.txt": reqs}) == [says]


STATE = """\
    import reflex as rx

    class Base(rx.State):
        name: str = ""
        count: int = 0

        @rx.event
        def set_count(self, value: int):
            self.count = value

    class Form(Base):
        email: str = ""

        def reset_all(self):
            self.set_email("")

    def page():
        return rx.input(on_change=Form.set_name), rx.button(on_click=Base.set_count(1))
    """


def test_auto_setters_are_off_from_reflex_0_9(tmp_path):
    assert run(c.auto_setters, tmp_path, {"shop/shop.py": STATE}) == [
        (
            FAIL,
            "Reflex 0.10.1 makes no setter for self.set_email (shop/shop.py:15), "
            "Form.set_name (shop/shop.py:18): define each setter as an @rx.event, or set "
            "state_auto_setters=True in rxconfig.py (auto setters are off by default since "
            "Reflex 0.9)",
        )
    ]


def test_auto_setters_turned_on_or_an_older_reflex_pass(tmp_path):
    config = 'import reflex as rx\nconfig = rx.Config(app_name="a", state_auto_setters=True)\n'
    on = run(c.auto_setters, tmp_path, {"shop/shop.py": STATE, "rxconfig.py": config})
    assert on[0][0] == PASS and on[0][1].endswith(": state_auto_setters=True in rxconfig.py")
    old = run(c.auto_setters, tmp_path / "old", {"shop/shop.py": STATE}, reflex="reflex==0.8.9")
    assert old[0][0] == PASS and old[0][1].endswith(": Reflex 0.8.9 still makes auto setters")
    assert run(c.auto_setters, tmp_path / "none") == [(PASS, "no state auto setters used")]


def test_several_workers_without_redis_warn(tmp_path):
    assert run(c.workers, tmp_path, env={"GRANIAN_WORKERS": "4"}) == [
        (
            WARN,
            "several backend workers (GRANIAN_WORKERS=4) without redis_url: each keeps its "
            "own state in memory, so a client reaching another worker loses it; set "
            "REFLEX_REDIS_URL in the app's env (or redis_url in rxconfig.py)",
        )
    ]
    env = {"GRANIAN_WORKERS": "4", "REFLEX_REDIS_URL": "redis://r"}
    assert run(c.workers, tmp_path, env=env) == [
        (PASS, "several backend workers share their state in Redis")
    ]
    assert run(c.workers, tmp_path, env={"GRANIAN_WORKERS": "1"})[0][0] == PASS


def test_frontend_and_backend_paths_are_not_supported(tmp_path):
    config = (
        "import reflex as rx\n"
        'config = rx.Config(app_name="a", frontend_path="/app", backend_path="/api")\n'
    )
    found = run(c.paths, tmp_path, {"rxconfig.py": config})
    assert found == [
        (
            WARN,
            "frontend_path /app is not supported: the nginx site serves the exported "
            "frontend at / , so pages and assets under /app are not found; remove it (give "
            "the app a host name of its own instead)",
        ),
        (
            WARN,
            "backend_path /api is not supported: the nginx site sends /_event, /ping, "
            "/_health and /_upload at the root to the backend, so /api/_event reaches it "
            "without the websocket upgrade and the health gate's /ping is not there; remove "
            "it (give the app a host name of its own instead)",
        ),
    ]
    assert run(c.paths, tmp_path / "plain") == [
        (PASS, "served at / (no frontend_path or backend_path)")
    ]


def test_alembic_without_its_ini_warns(tmp_path):
    found = run(c.alembic, tmp_path, {"alembic/env.py": ""})
    assert found == [
        (
            WARN,
            "alembic/ without alembic.ini: `reflex db migrate` then does nothing and exits 0, "
            "so no migration runs; commit alembic.ini (`reflex db init` makes both)",
        )
    ]
    both = run(c.alembic, tmp_path / "b", {"alembic/env.py": "", "alembic.ini": ""})
    assert both == [(PASS, "alembic/: `reflex db migrate` runs at each deploy")]


def test_system_packages_are_listed(tmp_path):
    found = run(c.system_packages, tmp_path, {"apt-packages.txt": "libpq5\n# video\nffmpeg\n"})
    assert found == [
        (
            WARN,
            "apt-packages.txt names libpq5, ffmpeg: rxpanel installs no system packages; "
            "install them on every server (and on the panel host, for the build)",
        )
    ]


def test_a_plain_app_passes_every_check(tmp_path):
    tree(tmp_path, {"shop/shop.py": "import reflex as rx\napp = rx.App()\n"})
    found = doctor.run(tmp_path, Facts("shop", {}, (SHARED,)))
    assert [f.check for f in found] == [
        "source", "reflex", "env-names", "build-env", "sqlite", "db-extra",
        "auto-setters", "workers", "paths", "alembic", "system-packages",
    ]  # fmt: skip
    assert doctor.worst(found) == PASS and doctor.summary(found) == "11 passed, 0 WARN, 0 FAIL"


def test_the_build_logs_the_findings_and_stops_at_a_certain_failure(tmp_path):
    from tests.unit.deploy.test_pipeline import plan

    tree(tmp_path, {"shop/models.py": MODELS, "apt-packages.txt": "ffmpeg\n"})
    fleet, builder, journal = Fleet(), Resolved010(tmp_path), MemoryJournal()
    with pytest.raises(engine.DeployFailed, match=r"^doctor: the app uses rx.Model \(shop/"):
        engine.execute(plan(), journal, connect=fleet.connect, builder=builder)
    assert builder.exports == 0 and fleet.calls == {}  # before the build and any server
    lines = [(step, level, line) for step, level, line in journal.lines if "doctor" in line]
    assert [line[:2] for line in lines[:3]] == [
        ("checkout", "error"),
        ("checkout", "warn"),
        ("checkout", "info"),
    ]
    assert lines[0][2].startswith("doctor: FAIL db-extra: the app uses rx.Model (shop/models")
    assert lines[1][2].startswith("doctor: WARN system-packages: apt-packages.txt names ffmpeg")
    assert lines[2][2] == "doctor: 8 passed, 1 WARN, 1 FAIL"


def export_env(reads, env, build_keys=()) -> list[tuple]:
    facts = Facts("shop", env, (SHARED,), build_keys=build_keys, export_reads=reads)
    return [(f.level, f.message) for f in c.export_env(Tree(Path("/nowhere")), facts)]


def test_a_runtime_variable_read_while_exporting_is_warned_about():
    reads = ExportReads(("FEATURE", "GREETING", "HOME", "REFLEX_DEPLOY_NAME"), "k", "c" * 40)
    env = {"GREETING": "hi", "FEATURE": "on", "REFLEX_DEPLOY_NAME": "shop", "OTHER": "x"}
    assert export_env(reads, env) == [
        (
            WARN,
            f"{name} is read while the frontend is exported (its value at build time is baked "
            "into the bundle) but it is a runtime variable: a change would not reach the page. "
            f"Mark it build-time: rxpanel app env shop --mark-build {name}",
        )
        for name in ("FEATURE", "GREETING")  # HOME is not the app's env; REFLEX_* is build-time
    ]
    # marked build-time: the export sees it, a change makes a new build
    assert export_env(reads, env, ("FEATURE", "GREETING")) == [
        (
            PASS,
            "the app's code reads FEATURE, GREETING, REFLEX_DEPLOY_NAME (build-time) while the "
            "frontend is exported",
        )
    ]
    assert export_env(ExportReads(("HOME",)), env) == [
        (PASS, "the app's code reads no variable of its env while the frontend is exported")
    ]
    assert export_env(None, env) == []  # no build recorded it yet: nothing said


def test_the_build_logs_a_runtime_variable_its_export_read(tmp_path):
    from tests.unit.deploy.test_pipeline import plan

    class Reads(Resolved010):
        def export(self, *a, **kw):
            return replace(super().export(*a, **kw), env_reads=("GREETING", "SECRET"))

    tree(tmp_path, {"shop/shop.py": "import reflex as rx\napp = rx.App()\n"})
    journal = MemoryJournal()
    marked = replace(plan().app, build_env_keys=("SECRET",))
    engine.execute(
        plan(app=marked, env={"SECRET": "s3cr3t", "GREETING": "hi"}),
        journal,
        connect=Fleet().connect,
        builder=Reads(tmp_path),
    )
    warned = [(step, line) for step, level, line in journal.lines if "export-env" in line]
    assert warned == [
        (
            "build",
            "doctor: WARN export-env: GREETING is read while the frontend is exported (its "
            "value at build time is baked into the bundle) but it is a runtime variable: a "
            "change would not reach the page. Mark it build-time: rxpanel app env demo "
            "--mark-build GREETING",
        )
    ]
