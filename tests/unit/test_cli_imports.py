"""The CLI starts fast because each command imports only what it uses: `--help`, at
every level, imports none of the heavy libraries, and `rollback` reaches the point
where it runs the rollback with the database's libraries only (sqlmodel, sqlalchemy,
cryptography for the secrets), not reflex, fabric, paramiko, httpx or alembic; fabric
comes when the rollback connects. Each case runs in a fresh interpreter, since this
one has imported everything. Timings are not tested: bench/cli_bench.py prints them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rxpanel.services import apps, deployments
from tests.unit.test_actions import deployed, shop  # noqa: F401 - shop is a fixture

ROOT = Path(__file__).resolve().parents[2]
DATABASE = ("sqlmodel", "sqlalchemy", "pydantic", "alembic", "cryptography")
NEVER = ("reflex", "fabric", "paramiko", "invoke", "httpx", "rich", "starlette", "fastapi")

# Runs `main(argv)` for each argv (stdout and stderr swallowed), with the rollback's
# follow-up replaced by a probe, then prints the imported modules' top-level names.
PROBE = """
import contextlib, io, json, sys
from rxpanel import cli
from rxpanel.cli import deploys

at_rollback = []
def follow(app_id, dep_id):  # where the rollback would start to run
    at_rollback.append(sorted({m.split(".")[0] for m in sys.modules}))
    return 0
deploys._run_and_follow = follow
codes = []
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            codes.append(cli.main(argv))
        except SystemExit as e:
            codes.append(e.code)
top = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"codes": codes, "modules": top, "at_rollback": at_rollback}))
"""


def imported(*argvs: list[str]) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("RXPANEL_URL", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(argvs))],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    ).stdout
    return json.loads(out.splitlines()[-1])


def help_paths() -> list[list[str]]:
    import argparse

    from rxpanel.cli import build_parser

    def walk(parser, prefix):
        yield prefix
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk(child, [*prefix, name])

    return [[*path, "--help"] for path in walk(build_parser(), [])]


def test_help_at_every_level_imports_no_heavy_library(tmp_path, monkeypatch):
    monkeypatch.setenv("RXPANEL_HOME", str(tmp_path))
    paths = help_paths()
    assert ["rollback", "--help"] in paths and ["app", "add", "--help"] in paths
    got = imported(*paths)
    assert set(got["codes"]) == {0}
    assert [m for m in (*DATABASE, *NEVER) if m in got["modules"]] == []
    assert not (tmp_path / "rxpanel.db").exists()  # and nothing touched the database


def test_refused_input_is_told_without_the_database(tmp_path, monkeypatch):
    monkeypatch.setenv("RXPANEL_HOME", str(tmp_path))
    got = imported(["nope"], ["rollback"], ["logs", "x"])
    assert got["codes"] == [2, 2, 2]
    assert [m for m in (*DATABASE, *NEVER) if m in got["modules"]] == []


@pytest.mark.usefixtures("shop")
def test_a_rollback_starts_with_the_database_libraries_only():
    app = deployed(apps.get("shop"))  # v2 live, v1 the good one before: back to v1

    got = imported(["rollback", "shop"])
    assert got["codes"] == [0]
    (modules,) = got["at_rollback"]
    assert {"sqlmodel", "sqlalchemy"} <= set(modules)
    assert [m for m in (*NEVER, "alembic") if m in modules] == []
    # the rollback queued is the one the probe stopped at
    assert [d.kind for d in deployments.for_app(app.id)] == ["rollback"]


def test_app_list_on_an_empty_home_needs_no_alembic_the_second_time(tmp_path, monkeypatch):
    monkeypatch.setenv("RXPANEL_HOME", str(tmp_path))
    first, second = imported(["app", "list"]), imported(["app", "list"])
    assert first["codes"] == second["codes"] == [0]
    assert "alembic" in first["modules"]  # a new database: migrated
    assert [m for m in (*NEVER, "alembic") if m in second["modules"]] == []


def test_every_use_case_of_actions_is_found_on_first_use():
    from rxpanel import actions

    assert sorted(actions._FROM) == sorted(actions.__all__)  # a new one goes in both
    assert all(callable(getattr(actions, name)) for name in actions.__all__)
