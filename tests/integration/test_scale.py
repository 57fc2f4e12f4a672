"""The panel scaled out: PostgreSQL and Redis (Debian's, started here), the backend
with three worker processes. However many workers run, each scheduled health
check and each deploy happens exactly once (one worker leads)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, AppRepo, Cli, free_port, get, wait_for

pytestmark = pytest.mark.integration

PG_BIN = max(Path("/usr/lib/postgresql").glob("*/bin"), default=Path("/usr/lib/postgresql/15/bin"))


def run_as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def postgres():
    """A throwaway PostgreSQL cluster on a free loopback port."""
    base = Path(tempfile.mkdtemp(prefix="rxpanel-pg-"))
    shutil.chown(base, "postgres")
    port = free_port()
    run_as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(base / "db"),
        "-U",
        "rxpanel",
        "--auth=trust",
        "-E",
        "UTF8",
    )
    run_as_postgres(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(base / "db"),
        "-l",
        str(base / "log"),
        "-w",
        "-o",
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
        "start",
    )
    try:
        run_as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "rxpanel", "rxpanel"
        )
        yield f"postgresql+psycopg://rxpanel@127.0.0.1:{port}/rxpanel"
    finally:
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(base / "db"),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def redis():
    base = Path(tempfile.mkdtemp(prefix="rxpanel-redis-"))
    port = free_port()
    subprocess.run(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
            "--dir",
            str(base),
            "--pidfile",
            str(base / "redis.pid"),
        ],
        check=True,
        capture_output=True,
    )
    wait_for(
        lambda: (
            subprocess.run(
                ["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True
            ).stdout.strip()
            == "PONG"
        ),
        what="redis",
    )
    yield f"redis://127.0.0.1:{port}"
    subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_cli(postgres, tmp_path_factory) -> Cli:
    cli = Cli(tmp_path_factory.mktemp("scale-home"))
    cli.env["RXPANEL_DB_URL"] = postgres
    return cli


def count(postgres: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def test_three_workers_act_once(pg_cli, postgres, redis, sandbox, tmp_path_factory):
    cli = pg_cli
    # the sandbox is a separate server record here; its backend ports may be taken by
    # other tests' apps on the same machine: the deploy moves to free ones
    cli.ok(*sandbox.server_add_args("box"))
    repo = AppRepo(tmp_path_factory.mktemp("scaled") / "app")
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app",
        "add",
        "scaled",
        "--server",
        "box",
        "--source",
        str(repo.path),
        "--url",
        url,
        "--check-interval",
        "5",
        "--health-timeout",
        "30",
    )
    subprocess.run(
        [*cli.base, "user", "add", "ops", "--role", "admin", "--password-stdin"],
        input="long-enough-password\n",
        env=cli.env,
        text=True,
        check=True,
        capture_output=True,
    )
    token = cli.json("token", "issue", "ops", "--name", "scale", "--scope", "deploy")["token"]

    port = free_port()
    env = {
        **cli.env,
        "REFLEX_REDIS_URL": redis,
        "GRANIAN_WORKERS": "3",
        "REFLEX_USE_NPM": "1",
        "PATH": f"{ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}",
    }
    log = cli.home / "panel.log"
    panel = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/reflex"),
            "run",
            "--env",
            "prod",
            "--backend-only",
            "--backend-port",
            str(port),
            "--loglevel",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = httpx.Client(
        base_url=f"http://127.0.0.1:{port}/api/v1",
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        wait_for(lambda: _up(api), timeout=180, what="the scaled panel")
        workers = _workers(panel.pid)
        assert len(workers) >= 3, workers

        deployed = []
        for version in ("v1", "v2"):
            if version != "v1":
                repo.set_version(version)
            dep_id = api.post("/apps/scaled/deploy", json={}).json()["deployment"]
            dep = wait_for(lambda d=dep_id: _final(api, d), timeout=300, what=f"deploy {version}")
            assert dep["status"] == "success", dep
            assert get(f"{url}/api/version").json()["version"] == version
            deployed.append(dep_id)
        for dep_id in deployed:
            lines = [r["line"] for r in api.get(f"/deployments/{dep_id}").json()["logs"]]
            assert sum(line == "▶ checkout" for line in lines) == 1, lines
            assert sum(line.startswith("success:") for line in lines) == 1
        runners = count(
            postgres, "select count(distinct runner) from deployment where status = 'success'"
        )
        assert runners == 1  # the leader ran both
        on_disk = list((Path(sandbox.deploy_root) / "scaled" / "releases").iterdir())
        assert len(on_disk) == 2

        # the scheduled checks: one per interval, not one per worker
        before = count(postgres, "select count(*) from healthcheck")
        time.sleep(16)
        checks = count(postgres, "select count(*) from healthcheck") - before
        assert 2 <= checks <= 4, checks
        gaps = count(
            postgres,
            """
            select count(*) from (
              select checked_at - lag(checked_at) over (order by checked_at) as gap
              from healthcheck) g
            where gap < interval '4 seconds'""",
        )
        assert gaps == 0
        assert count(postgres, "select count(*) from lease where name = 'worker'") == 1
    except AssertionError:
        print(log.read_text()[-6000:])  # what the panel said, for whoever reads the failure
        raise
    finally:
        os.killpg(panel.pid, signal.SIGTERM)
        try:
            panel.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(panel.pid, signal.SIGKILL)


def _up(api: httpx.Client) -> bool:
    try:
        return api.get("/whoami").status_code == 200
    except httpx.HTTPError:
        return False


def _final(api: httpx.Client, dep_id: int) -> dict | None:
    dep = api.get(f"/deployments/{dep_id}").json()["deployment"]
    return dep if dep["status"] in ("success", "failed", "interrupted") else None


def _workers(pid: int) -> list[int]:
    """Processes of the panel's group that serve requests (granian workers)."""
    out = subprocess.run(
        ["ps", "-o", "pid=,pgid=,args=", "-e"], capture_output=True, text=True
    ).stdout
    rows = [line.split(None, 2) for line in out.splitlines()]
    return [int(p) for p, g, args in rows if int(g) == pid and int(p) != pid and "python" in args]
