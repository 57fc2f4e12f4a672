"""deploy/envreads.py and its recorder (envreads_site.py as sitecustomize.py): the
env names the app's own code reads while its frontend is exported, never values."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rxpanel.deploy import envreads

SECRET = "hunter2-never-written"
APP = """\
import os
import elsewhere
GREETING = os.environ.get("GREETING")
TOKEN = os.getenv("TOKEN", "none")
HAS = "FEATURE" in os.environ
try:
    os.environ["REQUIRED"]
except KeyError:
    REQUIRED = None
print([GREETING, TOKEN, HAS, REQUIRED, elsewhere.VALUE, os.environ.get("SECRET_KEY")])
"""
# a module that is not the app's (Reflex, a library): its reads are not recorded
ELSEWHERE = 'import os\nVALUE = os.environ.get("LIBRARY_SETTING", "x")\n'
ENV = {"GREETING": "hello", "SECRET_KEY": SECRET, "LIBRARY_SETTING": "lib"}


def layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    src, lib, out = tmp_path / "src", tmp_path / "lib", tmp_path / "out"
    (src / "app").mkdir(parents=True)
    (src / "app" / "__init__.py").write_text(APP)
    lib.mkdir()
    (lib / "elsewhere.py").write_text(ELSEWHERE)
    out.mkdir()
    return src, lib, out


def run_app(src: Path, lib: Path, extra: dict[str, str]) -> str:
    pythonpath = os.pathsep.join(p for p in (extra.get("PYTHONPATH", ""), str(lib)) if p)
    env = {"PATH": os.environ["PATH"], **ENV, **extra, "PYTHONPATH": pythonpath}
    code = 'import app, os; os.environ.get("NOT_THE_APPS")'  # -c code is not the app's
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=src, env=env, capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
    return done.stdout


def test_the_names_the_apps_code_reads_are_recorded_not_the_others_nor_values(tmp_path):
    src, lib, out = layout(tmp_path)
    plain = run_app(src, lib, {})
    extra = envreads.install(out, src, "/some/where")
    assert extra["PYTHONPATH"] == f"{out / envreads.DIR}{os.pathsep}/some/where"
    # the app behaves as without the recorder: same values, same output
    assert run_app(src, lib, extra) == plain == f"['hello', 'none', False, None, 'lib', '{SECRET}']\n"
    for path in (out / envreads.DIR).glob("*.json"):
        assert SECRET not in path.read_text() and "hello" not in path.read_text()
    names = envreads.collect(out)
    assert names == ("FEATURE", "GREETING", "REQUIRED", "SECRET_KEY", "TOKEN")
    assert json.loads((out / envreads.KEPT).read_text()) == list(names)
    assert envreads.kept(out) == names
    assert not (out / envreads.DIR).exists()  # nothing of the recorder left in the build


def test_each_process_writes_its_own_names_and_they_are_checked(tmp_path):
    src, lib, out = layout(tmp_path)
    extra = envreads.install(out, src)
    run_app(src, lib, extra)
    run_app(src, lib, {**extra})
    where = out / envreads.DIR
    assert len(list(where.glob("reads-*.json"))) == 2
    # written by the app's own process: junk is dropped, a broken file skipped
    (where / "reads-1.json").write_text(json.dumps(["ZED", "not a name", 3, "$(x)"]))
    (where / "reads-2.json").write_text("{broken")
    assert envreads.collect(out) == (
        "FEATURE", "GREETING", "REQUIRED", "SECRET_KEY", "TOKEN", "ZED",
    )  # fmt: skip


def test_a_recorder_that_cannot_work_leaves_the_build_alone(tmp_path):
    src, lib, out = layout(tmp_path)
    extra = envreads.install(out, src)
    (out / envreads.DIR / "envreads.json").unlink()  # it fails at start
    assert run_app(src, lib, extra).startswith("['hello'")
    assert envreads.collect(out) is None  # nothing known, not "reads nothing"
    assert envreads.collect(tmp_path / "never-installed") is None
    assert envreads.kept(out) is None
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert envreads.install(blocked, src) == {}  # no recorder: the build goes on


def test_an_app_that_reads_nothing_is_known_to_read_nothing(tmp_path):
    src, lib, out = layout(tmp_path)
    (src / "app" / "__init__.py").write_text("x = 1\n")
    run_app(src, lib, envreads.install(out, src))
    assert envreads.collect(out) == ()


def test_the_workspace_keeps_the_last_builds_names(tmp_path):
    assert envreads.last(tmp_path) is None
    envreads.remember(tmp_path, envreads.ExportReads(("GREETING",), "key1", "c" * 40))
    assert envreads.last(tmp_path) == envreads.ExportReads(("GREETING",), "key1", "c" * 40)
    envreads.remember(tmp_path, None)  # a build that recorded nothing: unknown again
    assert envreads.last(tmp_path) is None
