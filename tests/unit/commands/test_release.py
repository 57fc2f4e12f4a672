"""deploy/commands/release.py: release directories, the `current` link, the live marker,
pruning (exact strings, syntax, behaviour)."""

from __future__ import annotations

import os
import shlex
import zipfile
from pathlib import Path

import pytest

from rxpanel.deploy.commands import release

from ._support import (
    APP,
    HASH,
    RID,
    RID2,
    SHELLS,
    SPACED_APP,
    as_demo,
    assert_syntax,
    syntax_cases,
)

EXACT = [
    pytest.param(
        release.prepare(APP),
        # shared/, venvs/ and HOME are the app user's: account.ensure_user makes them
        "mkdir -p /srv/rxpanel/demo/releases /srv/rxpanel/demo/logs /srv/rxpanel/demo/tmp",
        id="release.prepare",
    ),
    pytest.param(
        release.unpack_backend(APP, RID, "/srv/rxpanel/demo/tmp/b.zip"),
        f"rm -rf /srv/rxpanel/demo/releases/{RID} && "
        f"mkdir -p /srv/rxpanel/demo/releases/{RID}/backend && "
        f"python3 -c {shlex.quote(release.UNZIP)} "
        f"/srv/rxpanel/demo/tmp/b.zip /srv/rxpanel/demo/releases/{RID}/backend && "
        "rm -f /srv/rxpanel/demo/tmp/b.zip",
        id="release.unpack_backend",
    ),
    pytest.param(
        release.unpack_frontend(APP, RID, "/srv/rxpanel/demo/tmp/f.zip"),
        f"rm -rf /srv/rxpanel/demo/releases/{RID}/frontend && "
        f"mkdir -p /srv/rxpanel/demo/releases/{RID}/frontend && "
        f"python3 -c {shlex.quote(release.UNZIP)} "
        f"/srv/rxpanel/demo/tmp/f.zip /srv/rxpanel/demo/releases/{RID}/frontend && "
        "rm -f /srv/rxpanel/demo/tmp/f.zip && "
        f"mv /srv/rxpanel/demo/releases/{RID}/release.json.part "
        f"/srv/rxpanel/demo/releases/{RID}/release.json",
        id="release.unpack_frontend",
    ),
    pytest.param(
        release.exists(APP, RID),
        f"test -f /srv/rxpanel/demo/releases/{RID}/release.json",
        id="release.exists",
    ),
    pytest.param(
        release.list_ids(APP),
        "ls -1 /srv/rxpanel/demo/releases 2>/dev/null || true",
        id="release.list_ids",
    ),
    pytest.param(
        release.activate(APP, RID, "green"),
        f"ln -sfn releases/{RID} /srv/rxpanel/demo/.current.tmp && "
        "mv -T /srv/rxpanel/demo/.current.tmp /srv/rxpanel/demo/current && "
        f"printf '%s %s\\n' green {RID} > /srv/rxpanel/demo/live",
        id="release.activate",
    ),
    pytest.param(
        release.activate(SPACED_APP, RID, "blue"),
        f"ln -sfn releases/{RID} '/srv/my apps/demo/.current.tmp' && "
        "mv -T '/srv/my apps/demo/.current.tmp' '/srv/my apps/demo/current' && "
        f"printf '%s %s\\n' blue {RID} > '/srv/my apps/demo/live'",
        id="release.activate-spaced",
    ),
    pytest.param(
        release.read_live(APP), "cat /srv/rxpanel/demo/live 2>/dev/null || true", id="read_live"
    ),
    pytest.param(
        release.remove(APP, [RID, RID2]),
        f"rm -rf /srv/rxpanel/demo/releases/{RID} /srv/rxpanel/demo/releases/{RID2}",
        id="release.remove",
    ),
    pytest.param(release.remove(APP, []), "true", id="release.remove-none"),
    pytest.param(
        release.remove_venvs_except(APP, ["h2", "h1", "h2"]),
        as_demo(
            'cd /srv/rxpanel/demo/venvs 2>/dev/null && for v in *; do [ -d "$v" ] || continue; '
            'keep=0; for k in h1 h2; do [ "$v" = "$k" ] && keep=1; done; '
            '[ $keep = 1 ] || rm -rf -- "$v" "$v.requirements.txt"; done; true'
        ),
        id="release.remove_venvs_except",
    ),
    pytest.param(
        release.remove_venvs_except(SPACED_APP, []),
        as_demo(
            "cd '/srv/my apps/demo/venvs' 2>/dev/null && for v in *; do [ -d \"$v\" ] || continue; "
            'keep=0; for k in \'\'; do [ "$v" = "$k" ] && keep=1; done; '
            '[ $keep = 1 ] || rm -rf -- "$v" "$v.requirements.txt"; done; true',
            "/srv/my apps",
        ),
        id="release.remove_venvs_except-none",
    ),
    pytest.param(
        release.tail_log(APP, "blue"),
        "tail -n 30 /srv/rxpanel/demo/logs/blue.log 2>/dev/null || true",
        id="release.tail_log",
    ),
    pytest.param(
        release.tail_log(APP, "green", lines=5),
        "tail -n 5 /srv/rxpanel/demo/logs/green.log 2>/dev/null || true",
        id="release.tail_log-5",
    ),
]


@pytest.mark.parametrize(("cmd", "expected"), EXACT)
def test_exact_string(cmd, expected):
    assert cmd == expected


def commands(app) -> dict[str, str]:
    return {
        "release.prepare": release.prepare(app),
        "release.unpack_backend": release.unpack_backend(app, RID, f"{app.tmp}/b.zip"),
        "release.unpack_frontend": release.unpack_frontend(app, RID, f"{app.tmp}/f.zip"),
        "release.exists": release.exists(app, RID),
        "release.list_ids": release.list_ids(app),
        "release.activate": release.activate(app, RID, "blue"),
        "release.read_live": release.read_live(app),
        "release.remove": release.remove(app, [RID, RID2]),
        "release.remove-none": release.remove(app, []),
        "release.remove_venvs_except": release.remove_venvs_except(app, [HASH, "a b"]),
        "release.remove_venvs_except-none": release.remove_venvs_except(app, []),
        "release.tail_log": release.tail_log(app, "blue"),
    }


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(("name", "cmd"), syntax_cases(commands))
def test_syntax(shell, name, cmd):
    assert_syntax(shell, name, cmd)


def test_prepare_creates_the_layout(world):
    app = world.app
    assert world.run(release.prepare(app)).returncode == 0
    for d in (app.releases, app.venvs, app.shared, f"{app.shared}/home", app.logs, app.tmp):
        assert Path(d).is_dir(), d
    assert world.run(release.prepare(app)).returncode == 0  # idempotent


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return path


def test_unpack_backend_then_frontend(world):
    app = world.app
    world.run(release.prepare(app))
    stale = Path(app.release(RID), "frontend", "stale.html")
    stale.parent.mkdir(parents=True)
    stale.write_text("old")
    front = make_zip(Path(app.tmp, "front end.zip"), {"index.html": "<h1>", "assets/a.js": "1"})
    back = make_zip(Path(app.tmp, "back'end.zip"), {"demo/demo.py": "app = 1", "rxconfig.py": ""})

    result = world.run(release.unpack_backend(app, RID, str(back)))
    assert result.returncode == 0, result.stderr
    rel = Path(app.release(RID))
    assert (rel / "backend/demo/demo.py").read_text() == "app = 1"
    assert not stale.exists() and not back.exists()
    (rel / "release.json.part").write_text("{}")
    assert world.run(release.exists(app, RID)).returncode == 1  # not complete yet

    result = world.run(release.unpack_frontend(app, RID, str(front)))
    assert result.returncode == 0, result.stderr
    assert (rel / "frontend/index.html").read_text() == "<h1>"
    assert (rel / "frontend/assets/a.js").read_text() == "1"
    assert not front.exists()
    assert world.run(release.exists(app, RID)).returncode == 0


def test_unpack_fails_on_a_bad_zip(world):
    app = world.app
    world.run(release.prepare(app))
    back = make_zip(Path(app.tmp, "b.zip"), {"x.py": ""})
    assert world.run(release.unpack_backend(app, RID, str(back))).returncode == 0
    Path(app.release(RID), "release.json.part").write_text("{}")
    front = Path(app.tmp, "f.zip")
    front.write_text("not a zip")
    assert world.run(release.unpack_frontend(app, RID, str(front))).returncode != 0
    assert front.exists()
    assert world.run(release.exists(app, RID)).returncode == 1  # never marked complete


def test_exists_and_list_ids(world):
    app = world.app
    assert world.run(release.list_ids(app)).stdout == ""  # no releases dir yet: no error
    assert world.run(release.list_ids(app)).returncode == 0
    Path(app.release(RID)).mkdir(parents=True)
    assert world.run(release.exists(app, RID)).returncode == 1  # no release.json yet
    Path(app.release(RID), "release.json").write_text("{}")
    Path(app.release(RID2)).mkdir()
    assert world.run(release.exists(app, RID)).returncode == 0
    assert world.run(release.list_ids(app)).stdout == f"{RID}\n{RID2}\n"


def test_activate(world):
    app = world.app
    for rid in (RID, RID2):
        Path(app.release(rid), "frontend").mkdir(parents=True)
        Path(app.release(rid), "frontend", "id").write_text(rid)
    current = Path(app.current)

    first = world.run(release.activate(app, RID, "green"))
    assert first.returncode == 0, first.stderr
    assert os.readlink(current) == f"releases/{RID}"
    assert (current / "frontend/id").read_text() == RID
    assert Path(app.live_marker).read_text() == f"green {RID}\n"
    assert world.run(release.read_live(app)).stdout == f"green {RID}\n"

    second = world.run(release.activate(app, RID2, "blue"))
    assert second.returncode == 0, second.stderr
    assert os.readlink(current) == f"releases/{RID2}"
    assert (current / "frontend/id").read_text() == RID2
    assert Path(app.live_marker).read_text() == f"blue {RID2}\n"
    assert not Path(app.dir, ".current.tmp").exists()
    # `mv` without -T would have moved the temp link *into* the old target directory
    assert not Path(app.release(RID), ".current.tmp").exists()

    again = world.run(release.activate(app, RID2, "blue"))
    assert again.returncode == 0
    assert os.readlink(current) == f"releases/{RID2}"


def test_activate_over_a_leftover_temp_link(world):
    app = world.app
    Path(app.release(RID)).mkdir(parents=True)
    Path(app.release(RID2)).mkdir(parents=True)
    os.symlink(f"releases/{RID2}", Path(app.dir, ".current.tmp"))  # a crashed switch
    assert world.run(release.activate(app, RID, "blue")).returncode == 0
    assert os.readlink(app.current) == f"releases/{RID}"


def test_read_live_without_marker(world):
    result = world.run(release.read_live(world.app))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_remove_releases(world):
    app = world.app
    for rid in (RID, RID2, "20261123T000000-aaaaaa"):
        Path(app.release(rid), "backend").mkdir(parents=True)
    assert world.run(release.remove(app, [RID, RID2])).returncode == 0
    assert sorted(os.listdir(app.releases)) == ["20261123T000000-aaaaaa"]
    assert world.run(release.remove(app, [])).returncode == 0
    assert os.listdir(app.releases) == ["20261123T000000-aaaaaa"]


def test_remove_venvs_except(world):
    app = world.app
    venvs = Path(app.venvs)
    for name in ("h1", "h2", "h3", "a b", "-rf", "*"):
        (venvs / name / "bin").mkdir(parents=True)
    for name in ("h1.requirements.txt", "h3.requirements.txt"):
        (venvs / name).write_text("reflex\n")

    result = world.run(release.remove_venvs_except(app, ["h1", "a b", "h1"]))
    assert result.returncode == 0, result.stderr
    # a removed venv takes its requirements file with it
    assert sorted(os.listdir(venvs)) == ["a b", "h1", "h1.requirements.txt"]
    assert (venvs / "h1/bin").is_dir()


def test_remove_venvs_except_none_kept(world):
    venvs = Path(world.app.venvs)
    (venvs / "h1").mkdir(parents=True)
    (venvs / "h1.requirements.txt").write_text("")
    assert world.run(release.remove_venvs_except(world.app, [])).returncode == 0
    assert os.listdir(venvs) == []


def test_remove_venvs_except_without_venvs_dir_touches_nothing(world):
    (world.cwd / "precious").mkdir()
    result = world.run(release.remove_venvs_except(world.app, []))
    assert result.returncode == 0
    assert (world.cwd / "precious").is_dir()


def test_tail_log(world):
    app = world.app
    assert world.run(release.tail_log(app, "blue")).stdout == ""
    Path(app.logs).mkdir(parents=True)
    Path(app.program_log("blue")).write_text("".join(f"line {i}\n" for i in range(50)))
    tail = world.run(release.tail_log(app, "blue", lines=3))
    assert (tail.returncode, tail.stdout) == (0, "line 47\nline 48\nline 49\n")
