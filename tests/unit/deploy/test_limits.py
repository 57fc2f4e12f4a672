"""Build limits: the argv that enforces them (pure data), the cgroup files read
and written (on a fake cgroup tree), and for real: a jailed step over its memory
limit or its CPU time is stopped, and the error names the limit and its fix."""

from __future__ import annotations

import os
import time

import pytest

from rxpanel.deploy import cgroup, jail, local
from rxpanel.deploy.limits import JOIN, PRLIMIT, Limits

SMALL = Limits(memory_mb=100, cpu_seconds=1, timeout=30, app="shop")
HOG = "x = bytearray(300 * 1024 * 1024); x[::4096] = b'1' * len(x[::4096]); print('survived')"
SPIN = "while True: pass"
# two processes, each under the per-process 1 s, together over it
TWO_SPINNERS = """
import os, time
os.fork()
start = time.process_time()
while time.process_time() - start < 0.9:
    pass
time.sleep(5)
print('survived')
"""


def test_the_argv_joins_the_cgroup_then_sets_the_cpu_rlimit():
    procs = ("/cg/memory/b1/cgroup.procs", "/cg/cpuacct/b1/cgroup.procs")
    argv = SMALL.wrap(["/usr/bin/bwrap", "--", "reflex", "export"], procs)
    assert argv == [
        "/bin/sh", "-c", JOIN, "rxpanel-limits", *procs, "--",
        PRLIMIT, "--cpu=1:6", "--", "/usr/bin/bwrap", "--", "reflex", "export",
    ]  # fmt: skip
    assert JOIN.startswith('while [ "$1" != -- ]; do echo $$ > "$1" || exit 125')


def test_without_a_cgroup_memory_is_capped_per_process_by_rlimit_data():
    assert SMALL.wrap(["uv", "pip", "install"]) == [
        PRLIMIT, "--cpu=1:6", f"--data={100 << 20}:{100 << 20}", "--", "uv", "pip", "install",
    ]  # fmt: skip


def test_the_log_line_says_what_is_enforced_and_how():
    limits = Limits(memory_mb=2048, cpu_seconds=900, timeout=1200)
    assert limits.describe("cgroup v2") == (
        "build limits: 2048 MB memory (cgroup v2), 900 s CPU (cgroup v2 total and per "
        "process), 1200 s wall clock per step"
    )
    assert limits.describe("no cgroup memory controller on this host") == (
        "build limits: 2048 MB memory (per process, RLIMIT_DATA: no cgroup, no cgroup "
        "memory controller on this host), 900 s CPU (per process), 1200 s wall clock per step"
    )


def test_each_limit_names_its_fix():
    assert SMALL.exceeded("reflex export (frontend)", "memory") == (
        "reflex export (frontend) used more than 100 MB of memory and was stopped: raise "
        "the app's build memory limit (rxpanel app update shop --build-memory-mb N)"
    )
    assert SMALL.exceeded("x", "cpu").endswith(
        "used more than 1 s of CPU time and was stopped: raise the app's build CPU limit "
        "(rxpanel app update shop --build-cpu-seconds N)"
    )
    assert SMALL.exceeded("x", "wall") == (
        "x did not finish within 30 s and was stopped: raise the app's build timeout "
        "(rxpanel app update shop --build-timeout N)"
    )


def test_an_app_s_own_limits_win_over_the_panel_s_defaults(monkeypatch):
    from rxpanel import settings

    monkeypatch.setenv("RXPANEL_BUILD_MEMORY_MB", "3000")
    settings.get.cache_clear()
    try:
        assert Limits.of("shop", None, 60, None) == Limits(3000, 60, 1200, "shop")
    finally:
        settings.get.cache_clear()


V1_MOUNTS = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
33 31 0:30 / {root}/cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / {root}/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / {root}/unified rw,relatime - cgroup2 cgroup2 rw
"""
V1_OWN = "4:memory:/panel\n2:cpu,cpuacct:/\n0::/\n"


def test_cgroup_v1_is_found_from_mountinfo_and_the_panel_s_own_cgroups(tmp_path):
    for d in ("memory/panel", "cpuacct", "unified"):
        (tmp_path / d).mkdir(parents=True)
        (tmp_path / d / "cgroup.procs").write_text("")
    (tmp_path / "unified" / "cgroup.controllers").write_text("")  # hybrid: no controllers
    place, why = cgroup.locate(V1_MOUNTS.format(root=tmp_path), V1_OWN)
    assert (place, why) == (cgroup.Place("v1", tmp_path / "memory/panel", tmp_path / "cpuacct"), "")


def test_cgroup_v2_needs_the_memory_controller_delegated(tmp_path):
    mounts = f"30 23 0:26 / {tmp_path} rw - cgroup2 cgroup2 rw\n"
    (tmp_path / "svc").mkdir()
    (tmp_path / "cgroup.controllers").write_text("cpu io memory pids\n")
    (tmp_path / "svc" / "cgroup.procs").write_text("")
    (tmp_path / "svc" / "cgroup.subtree_control").write_text("")
    place, why = cgroup.locate(mounts, "0::/svc\n")
    assert place is None and "does not delegate the memory controller" in why
    (tmp_path / "svc" / "cgroup.subtree_control").write_text("cpu memory\n")
    assert cgroup.locate(mounts, "0::/svc\n") == (
        cgroup.Place("v2", tmp_path / "svc", tmp_path / "svc"),
        "",
    )


def test_rxpanel_build_cgroup_off_turns_cgroups_off(monkeypatch):
    monkeypatch.setenv("RXPANEL_BUILD_CGROUP", "off")
    assert cgroup.locate("", "") == (None, "RXPANEL_BUILD_CGROUP=off")


def test_a_v2_group_is_made_and_read_through_its_files(tmp_path):
    group = cgroup.create(cgroup.Place("v2", tmp_path, tmp_path), 100)
    assert group.memory.parent == tmp_path and group.cpu is None
    assert (group.memory / "memory.max").read_text() == str(100 << 20)
    assert (group.memory / "memory.oom.group").read_text() == "1"
    assert group.procs == (str(group.memory / "cgroup.procs"),)
    (group.memory / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    (group.memory / "cpu.stat").write_text("usage_usec 2500000\nuser_usec 2000000\n")
    (group.memory / "memory.peak").write_text(str(300 << 20))
    assert (group.oom_kills(), group.cpu_seconds(), group.peak_mb()) == (1, 2.5, 300)


jailed = pytest.mark.skipif(not jail.available(), reason="bubblewrap is missing")


def _jailed_python(tmp_path, code: str, limits: Limits, log=None):
    ws = tmp_path / "builds" / "shop"
    box = jail.Jail(home=ws / "home", writable=(ws,))
    return local.run(
        [jail.python(), "-c", code],
        cwd=ws,
        env=jail.base_env() | {"PATH": "/usr/bin:/bin"},
        jail=box,
        limits=limits,
        log=log,
        what="the export",
    )


@pytest.fixture(params=["cgroup", "rlimits"])
def enforced(request, monkeypatch):
    """Both ways a limit is enforced: a cgroup where this host allows one, rlimits alone."""
    monkeypatch.setattr(local, "_place", [])
    if request.param == "rlimits":
        monkeypatch.setenv("RXPANEL_BUILD_CGROUP", "off")
    elif local.enforcement().startswith("cgroup") is False:
        pytest.skip(f"no cgroup here: {local.enforcement()}")
    return request.param


@jailed
def test_a_step_over_its_memory_limit_is_stopped_and_says_so(tmp_path, enforced):
    started, lines = time.monotonic(), []
    with pytest.raises(local.BuildError) as failed:
        _jailed_python(tmp_path, HOG, SMALL, lines.append)
    assert str(failed.value) == SMALL.exceeded("the export", "memory")
    assert "survived" not in lines
    assert time.monotonic() - started < 10
    if enforced == "cgroup":  # what it used, in the build log; the group is gone
        assert lines[-1].startswith("the export: peak ")
        # this process's groups only: a panel or bench building beside it has its own
        mine = f"{cgroup.PREFIX}{os.getpid()}-*"
        assert not [d for d in local._place[0][0].memory.glob(mine)]


@jailed
@pytest.mark.parametrize("program", ["one process", "a tree"])
def test_a_step_over_its_cpu_time_is_stopped_and_says_so(tmp_path, enforced, program):
    if program == "a tree" and enforced != "cgroup":
        pytest.skip("without a cgroup, CPU time is limited per process only")
    started = time.monotonic()
    with pytest.raises(local.BuildError) as failed:
        _jailed_python(tmp_path, SPIN if program == "one process" else TWO_SPINNERS, SMALL)
    assert str(failed.value) == SMALL.exceeded("the export", "cpu")
    assert time.monotonic() - started < 10


@jailed
def test_a_step_within_its_limits_runs(tmp_path, enforced):
    assert _jailed_python(tmp_path, "print('fits')", SMALL) == "fits"


def test_the_wall_clock_stops_a_step_and_names_the_setting(tmp_path):
    limits = Limits(memory_mb=512, cpu_seconds=60, timeout=1, app="shop")
    started = time.monotonic()
    with pytest.raises(local.BuildError) as failed:
        local.run(["sleep", "30"], env={"PATH": "/usr/bin:/bin"}, limits=limits, what="x")
    assert str(failed.value) == limits.exceeded("x", "wall")
    assert time.monotonic() - started < 5
