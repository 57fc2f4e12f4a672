"""Shared fixtures: a panel home, the real sandbox server, a real git repo of a
small Reflex app, and the CLI run as a separate process (as users run it)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_APP = ROOT / "tests" / "fixtures" / "sampleapp"
ARTIFACTS = ROOT / "test-artifacts"
VENV_BIN = ROOT / ".venv" / "bin"
PANEL_START_TIMEOUT = 180  # seconds; a cold compile takes about 40
# Local sources come only from the directories an admin allows: the tests' repos and
# directories are under the temp dir (pytest's) and the fixtures. Every panel, CLI and
# worker the tests start inherits this.
SOURCE_ROOTS = [tempfile.gettempdir(), str(ROOT / "tests" / "fixtures")]
os.environ["RXPANEL_SOURCE_ROOTS"] = ":".join(SOURCE_ROOTS)


def pytest_configure(config):
    """A --basetemp outside the temp dir is a source root too."""
    if config.option.basetemp:
        base = os.path.realpath(config.option.basetemp)
        os.environ["RXPANEL_SOURCE_ROOTS"] = ":".join([*SOURCE_ROOTS, base])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cli:
    """Runs `python -m rxpanel` against one panel home."""

    def __init__(self, home: Path):
        self.home = home
        self.base = [sys.executable, "-m", "rxpanel"]
        self.env = {**os.environ, "RXPANEL_HOME": str(home), "REFLEX_TELEMETRY_ENABLED": "false"}

    def __call__(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rxpanel", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, *args: str, timeout: float = 900) -> str:
        r = self(*args, timeout=timeout)
        assert r.returncode == 0, f"rxpanel {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
        return r.stdout

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json"))

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "rxpanel", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


class AppRepo:
    """A real git repository holding the sample Reflex app (or another app's tree)."""

    def __init__(self, path: Path, template: Path = SAMPLE_APP):
        self.path = path
        shutil.copytree(template, path, ignore=shutil.ignore_patterns(".web", "__pycache__"))
        self.git("init", "-q", "-b", "main")
        self.commit("v1")

    def git(self, *args: str) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@example.com",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        }
        out = subprocess.run(
            ["git", *args], cwd=self.path, env=env, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        (self.path / rel).write_text(text)

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def set_version(self, version: str, extra: str = "") -> str:
        """Commit a new VERSION (and optional extra module code run at import)."""
        self.write("sampleapp/version.py", f'VERSION = "{version}"\n{extra}')
        return self.commit(version)


@pytest.fixture(scope="session", autouse=True)
def passable_basetemp(tmp_path_factory):
    """pytest's temp dirs are 0700; as root, each app runs as a Unix user of its own,
    who must pass through them to the sandboxes' deploy roots (x only, no listing)."""
    if os.geteuid() == 0:
        base = tmp_path_factory.getbasetemp()
        for d in (base, base.parent):
            d.chmod(d.stat().st_mode | 0o111)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    from rxpanel import sandbox as sb

    box = sb.up(tmp_path_factory.mktemp("sandbox"))
    yield box
    sb.down(box.dir)


@pytest.fixture(scope="session")
def cli(tmp_path_factory) -> Cli:
    return Cli(tmp_path_factory.mktemp("panel-home"))


@pytest.fixture(scope="session")
def sandbox_server(cli, sandbox) -> str:
    cli.ok(*sandbox.server_add_args("sandbox"))
    return "sandbox"


def wait_for(predicate, timeout: float = 30, every: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def get(url: str, **kw) -> httpx.Response:
    return httpx.get(url, timeout=10, **kw)


@dataclass
class Panel:
    url: str
    home: Path
    cli: Cli  # the CLI against the panel's own home (same database)
    log: Path


def _pinged(url: str) -> bool:
    try:
        return httpx.get(f"{url}/ping", timeout=2).json() == "pong"
    except (httpx.HTTPError, ValueError):
        return False


def _stop_group(proc: subprocess.Popen) -> None:
    """Stop a process group: TERM, then KILL whatever is left of it."""
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@pytest.fixture(scope="session")
def panel(tmp_path_factory) -> Panel:
    """The web panel as users run it: `reflex run --env prod` from the repo root,
    frontend and backend on one free port, its own home; it runs queued
    deployments itself. One per session (it compiles into the repo's .web)."""
    home = tmp_path_factory.mktemp("panel-web-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "RXPANEL_HOME": str(home),
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = home / "panel.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VENV_BIN / "reflex"), "run", "--env", "prod", "--backend-port", str(port)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    try:
        deadline = time.monotonic() + PANEL_START_TIMEOUT
        while not _pinged(url):
            if proc.poll() is not None:
                raise AssertionError(f"the panel exited ({proc.returncode}):\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the panel did not answer /ping:\n{log.read_text()}")
            time.sleep(0.5)
        yield Panel(url=url, home=home, cli=Cli(home), log=log)
    finally:
        _stop_group(proc)
