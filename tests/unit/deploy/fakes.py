"""Fakes for the deploy engine: servers that record every command and answer
from a script, a build that makes real zips without git or reflex, and a journal
kept in memory."""

from __future__ import annotations

import json
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from rxpanel.deploy import build
from rxpanel.deploy.plan import TargetPlan
from rxpanel.deploy.remote import CommandFailed, Result

COMMIT = "c0ffee" * 7
HEALTHY = Result(0, 'healthy: /ping answered "pong"', "")
PUBLIC_OK = "the public side answers: / (browser and curl), /assets/a-1.js, /ping through nginx"


@dataclass
class Fleet:
    """Fake servers: what each was sent, and scripted answers by (server, label)."""

    calls: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    answers: dict[tuple[str, str], Result] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (server, path): put_bytes

    def connect(self, target: TargetPlan, secrets, on_host_key):
        if target.host_key is None:
            on_host_key(f"ssh-ed25519 KEY-OF-{target.name}")
        return FakeRemote(self, target.name)

    def record(self, server: str, label: str, command: str) -> None:
        with self.lock:
            self.calls.setdefault(server, []).append((label, command))

    def labels(self, server: str) -> list[str]:
        return [label for label, _ in self.calls[server]]

    def sent(self, server: str, label: str) -> list[str]:
        return [c for lab, c in self.calls[server] if lab == label]


DEFAULTS = {
    "checking free space": Result(0, "99999999\n", ""),
    "health gate": HEALTHY,
    "public check": Result(0, PUBLIC_OK, ""),
}


@dataclass
class FakeRemote:
    fleet: Fleet
    name: str
    connected: bool = True

    def run(self, command, *, label="remote command", timeout=600, check=True, on_line=None):
        self.fleet.record(self.name, label, command)
        result = self.fleet.answers.get((self.name, label), DEFAULTS.get(label, Result(0, "", "")))
        for line in result.stdout.splitlines():
            if on_line:
                on_line(line)
        if check and not result.ok:
            raise CommandFailed(label, result.exit_code, result.stdout + result.stderr)
        return result

    def put_bytes(self, data, path, mode=0o644, *, label="upload"):
        self.fleet.files[(self.name, path)] = data
        self.fleet.record(self.name, "put", path)

    def put_file(self, local, path, *, label="upload", progress=None):
        self.fleet.record(self.name, "put", path)

    def close(self):
        self.connected = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeBuilder:
    """checkout and export without git or reflex; the zips are real files."""

    build_key = staticmethod(build.build_key)

    def __init__(self, tmp: Path, fail: str | None = None):
        self.tmp, self.fail, self.exports = tmp, fail, 0
        self.envs: list[dict[str, str]] = []  # the env each export was given
        self.backend_files: dict[str, str] = {}  # more files in backend.zip (alembic/...)
        self.states: dict[str, str] | None = None  # what the compile step writes (states.json)

    def checkout(self, app, source, branch, ref, log, deploy_key=""):
        log(f"checked out {branch}")
        return build.Source(path=self.tmp, commit=COMMIT, requirements=b"reflex==0.8.0\n")

    def ensure_build_venv(self, source, log):
        return self.tmp / "venv"

    def export(self, app, source, venv, *, url, env, log, backend_ready):
        self.exports += 1
        self.envs.append(dict(env))
        out = self.tmp / "cache" / "k"
        out.mkdir(parents=True, exist_ok=True)
        for name in ("backend", "frontend"):
            with zipfile.ZipFile(out / f"{name}.zip", "w") as z:
                z.writestr(f"{name}.txt", name)
                for path, text in self.backend_files.items() if name == "backend" else ():
                    z.writestr(path, text)
        backend_ready(out / "backend.zip")
        if self.states is not None:
            (out / "states.json").write_text(json.dumps(self.states))
        if self.fail:
            raise build.BuildError(self.fail)
        return build.Build(key="k", dir=out, cached=False)


class MemoryJournal:
    def __init__(self):
        self.lines: list[tuple[str, str, str]] = []  # (step, level, line)
        self.steps: list[tuple[str, str]] = []  # (name, status)
        self.events: list[tuple] = []
        self._lock = threading.Lock()

    def log(self, line, level="info", step=""):
        with self._lock:
            self.lines.append((step, level, line))

    def step_started(self, name):
        return name

    def step_ended(self, handle, status, seconds):
        with self._lock:
            self.steps.append((handle, status))

    def text(self) -> list[str]:
        return [line for _, _, line in self.lines]

    def __getattr__(self, name):  # every other report is an event
        def record(*args):
            with self._lock:
                self.events.append((name, *args))

        return record

    def of(self, kind: str) -> list[tuple]:
        return [e[1:] for e in self.events if e[0] == kind]
