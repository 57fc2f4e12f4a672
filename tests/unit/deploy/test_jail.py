"""The build jail, for real: bubblewrap runs an 'attacker' build program that
tries to reach the panel's key, database, environment and another app's
workspace, to write outside its workspace and to leave a process behind."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from rxpanel.deploy import build, jail, local

ATTACK = r"""
import os, pathlib, subprocess, sys
home, other, panel_pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
def probe(name, fn):
    try:
        fn()
        print(name, "REACHED")
    except Exception as e:
        print(name, "refused", type(e).__name__)
probe("secret.key", lambda: open(os.path.join(home, "secret.key")).read())
probe("database", lambda: open(os.path.join(home, "rxpanel.db"), "rb").read())
probe("other_app", lambda: os.listdir(other))
probe("panel_environ", lambda: open("/proc/%d/environ" % panel_pid).read())
probe("shadow", lambda: open("/etc/shadow").read())
probe("root_home", lambda: os.listdir("/root/.ssh"))
probe("write_outside", lambda: open(os.path.join(home, "pwned"), "w").write("x"))
print("env", "PANEL_SECRET" in os.environ, "SSH_AUTH_SOCK" in os.environ, os.environ["HOME"])
print("uid", os.getuid())
open("mine.txt", "w").write("inside")  # its own workspace is writable
subprocess.Popen(["sh", "-c", "sleep 300"], start_new_session=True)
"""


@pytest.fixture
def panel(tmp_path, monkeypatch):
    home = tmp_path / "panel-home"
    (home / "builds" / "victim" / "src").mkdir(parents=True)
    (home / "builds" / "victim" / "src" / "app.py").write_text("victim's code")
    (home / "secret.key").write_text("the key")
    (home / "rxpanel.db").write_text("the database")
    monkeypatch.setenv("PANEL_SECRET", "do-not-leak")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    ws = home / "builds" / "attacker"
    (ws / "src").mkdir(parents=True)
    return home, ws


def test_bubblewrap_is_installed():
    # `make test` installs it (TEST_DEBS); builds without it run unjailed and say so
    assert jail.available(), "bubblewrap is missing: apt-get install bubblewrap"


def test_a_jailed_build_reaches_nothing_of_the_panel(panel):
    home, ws = panel
    box = jail.Jail(home=ws / "home", writable=(ws / "src",))
    before = _sleepers()
    started = time.monotonic()
    out = local.run(
        [
            "/usr/bin/python3",
            "-c",
            ATTACK,
            str(home),
            str(home / "builds" / "victim"),
            str(os.getpid()),
        ],  # fmt: skip
        cwd=ws / "src",
        env=jail.base_env() | {"PATH": "/usr/bin:/bin", "SSH_AUTH_SOCK": "/tmp/a.sock"},
        jail=box,
        what="attack",
    )
    lines = dict(line.split(" ", 1) for line in out.splitlines())
    for probe in ("secret.key", "database", "other_app", "shadow", "root_home"):
        assert lines[probe].startswith("refused"), (probe, lines[probe])
    assert lines["panel_environ"].startswith("refused")
    assert lines["env"] == f"False False {ws / 'home'}"
    assert lines["uid"] == str(jail.NOBODY)
    assert (ws / "src" / "mine.txt").read_text() == "inside"
    # a write beside the panel's files lands, if anywhere, in the jail's own /tmp
    # (the test's home is under /tmp): never on the host
    assert not (home / "pwned").exists()
    assert time.monotonic() - started < 60
    time.sleep(0.3)
    assert _sleepers() == before  # the process it left went with the jail


def test_the_timeout_kills_a_silent_process_tree(tmp_path):
    started = time.monotonic()
    with pytest.raises(local.BuildError, match="did not finish within 1 s"):
        local.run(
            ["sh", "-c", "sleep 200 & sleep 201; echo never"],
            env={"PATH": "/usr/bin:/bin"},
            timeout=1,
            what="a silent build",
        )
    assert time.monotonic() - started < 10
    left = lambda: [p for p in _sleepers() if p.endswith(("sleep 200", "sleep 201"))]  # noqa: E731
    deadline = time.monotonic() + 5  # killed at once; gone once the kernel reaps it
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left()


def test_a_symlink_that_leaves_the_source_is_refused(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "inside.txt").write_text("x")
    (src / "ok").symlink_to("pkg/inside.txt")
    build.refuse_escaping_links(src)
    (src / "pkg" / "key").symlink_to("../../../secret.key")
    with pytest.raises(local.BuildError) as e:
        build.refuse_escaping_links(src)
    assert str(e.value) == (
        "the source has a symlink that leaves it: pkg/key -> ../../../secret.key; "
        "rxpanel builds only what is inside the repository: remove the link"
    )


def test_the_jail_argv_mounts_only_what_it_names(tmp_path):
    box = jail.Jail(home=tmp_path / "h", writable=(tmp_path / "w",), readonly=(tmp_path / "r",))
    argv = box.argv(["reflex", "export"], cwd=tmp_path / "w")
    assert argv[:6] == [jail.BWRAP, "--unshare-all", "--share-net", "--die-with-parent",
                        "--new-session", "--uid"]  # fmt: skip
    binds = [argv[i + 1] for i, a in enumerate(argv) if a == "--bind"]
    assert binds == [str(tmp_path / "h"), str(tmp_path / "w")]
    ro = [argv[i + 1] for i, a in enumerate(argv) if a == "--ro-bind"]
    assert str(tmp_path / "r") in ro and "/usr" in ro
    assert not [p for p in ro + binds if p in ("/", "/etc", "/root", "/home")]
    assert argv[argv.index("--chdir") + 1] == str(tmp_path / "w")
    assert argv[argv.index("--") + 1 :] == ["reflex", "export"]


def _sleepers() -> set[str]:
    out = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return {line.strip() for line in out.splitlines() if "sleep 20" in line or "sleep 300" in line}
