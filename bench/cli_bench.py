"""How fast the CLI starts: the median of N runs (default 10) of

- `rxpanel --help`, wall time;
- `rxpanel app list` on a home with no apps, wall time (the first run, which makes
  and migrates the database, is printed apart);
- `rxpanel rollback APP`, up to the moment the rollback starts to run (queued, its
  log about to be followed): the Python import time (the sum of `-X importtime`) and
  the wall time from launch; then the import time of what the run itself adds (the
  worker and the engine, fabric), without connecting anywhere. The home has one
  server, one app and two releases; nothing is deployed.
- with `--app APP` (and RXPANEL_HOME of a panel where APP is deployed with a release
  to go back to, e.g. on the sandbox): `rxpanel rollback APP --yes` end to end.

`--root DIR` measures another checkout (e.g. `git archive` of an older commit into a
directory) with this same Python; twice `--root` compares two, interleaved round by
round so that both see the same load on the machine.

    python bench/cli_bench.py [--rounds 10] [--root DIR [--root DIR]] [--app APP]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]

# Stops `rxpanel rollback` where the rollback would start to run, and prints when.
PROBE = """
import sys, time
from rxpanel import cli
from rxpanel.cli import deploys

def follow(app_id, dep_id):
    print("AT_RUN", time.time(), file=sys.stderr, flush=True)
    return 0

deploys._run_and_follow = follow
sys.exit(cli.main(sys.argv[1:]))
"""

# What the run adds: the worker and the engine, imported after the rollback's request.
REQUEST_IMPORTS = """
from rxpanel import actions, db
db.upgrade()
actions.request_rollback  # the request's modules, already there in a real run
"""
RUN_IMPORTS = REQUEST_IMPORTS + "import rxpanel.worker.runs\n"

SETUP = """
import subprocess, sys
from datetime import timedelta
from pathlib import Path
from rxpanel import db
from rxpanel.models import utcnow
from rxpanel.services import apps, releases, servers

db.upgrade()
key = Path(sys.argv[1]) / "bench-key"
subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
servers.add(servers.ServerInput(name="s1", host="127.0.0.1"), key.read_text())
app = apps.add(apps.AppInput(name="shop", server="s1", source="https://git.example/shop.git", url="http://shop.x"))
for rid, status, hours in (("20260101T000001-aaaa", "good", 2), ("20260101T000002-bbbb", "new", 1)):
    releases.create(id=rid, app_id=app.id, commit="c" * 40, build_key=rid, req_hash="",
                    env_enc="", status=status, live_at=utcnow() - timedelta(hours=hours))
apps.set_live(app.id, "20260101T000002-bbbb", "blue")
"""


def env_for(root: Path, home: Path | None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(root), "REFLEX_TELEMETRY_ENABLED": "false"}
    env.pop("RXPANEL_URL", None)
    if home is not None:
        env["RXPANEL_HOME"] = str(home)
        env.pop("RXPANEL_DB_URL", None)
    return env


def wall(cmd: list[str], env: dict[str, str], ok=(0,)) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()}")
    return took


def import_seconds(stderr: str) -> float:
    """The sum of the top-level cumulative times of `-X importtime` (its own lines)."""
    total = 0
    for line in stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _, cumulative, name = line.split("|", 2)
            if not name[1:].startswith(" "):  # one space: imported at the top level
                total += int(cumulative)
    return total / 1e6


def rollback_to_run(env: dict[str, str]) -> tuple[float, float]:
    """(import seconds, wall seconds from launch) up to where the rollback runs."""
    start = time.time()
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", PROBE, "rollback", "shop"],
        env=env,
        capture_output=True,
        text=True,
    )
    at = [ln for ln in done.stderr.splitlines() if ln.startswith("AT_RUN ")]
    if done.returncode != 0 or not at:
        raise SystemExit(f"rollback probe failed ({done.returncode}): {done.stderr[-500:]}")
    return import_seconds(done.stderr), float(at[0].split()[1]) - start


def run_import_seconds(env: dict[str, str]) -> float:
    """Import time the run adds to the request (worker, engine, fabric)."""

    def imports(code: str) -> float:
        cmd = [sys.executable, "-X", "importtime", "-c", code]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
        return import_seconds(done.stderr)

    return imports(RUN_IMPORTS) - imports(REQUEST_IMPORTS)


def one_round(root: Path, home: Path, shop: Path, app: str | None) -> dict[str, float]:
    """Each figure once, for the checkout at `root`."""
    os.chdir(root)  # `python -m` and `-c` put the working directory first on sys.path
    cli = [sys.executable, "-m", "rxpanel"]
    env_empty, env_shop = env_for(root, home), env_for(root, shop)
    got = {"rxpanel --help": wall([*cli, "--help"], env_empty)}
    got["rxpanel app list, empty home"] = wall([*cli, "app", "list"], env_empty)
    got["rollback: import time to the run"], got["rollback: wall time to the run"] = (
        rollback_to_run(env_shop)
    )
    got["  + import time the run adds (worker, engine, fabric)"] = run_import_seconds(env_shop)
    if app:
        cmd = [*cli, "rollback", app, "--yes"]
        got[f"rxpanel rollback {app} --yes, end to end"] = wall(cmd, env_for(root, None))
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument(
        "--root",
        type=Path,
        action="append",
        help="a checkout to measure (default: this one); give two to compare, round by round",
    )
    ap.add_argument("--app", help="also time `rxpanel rollback APP --yes` in RXPANEL_HOME")
    a = ap.parse_args()
    roots = [r.resolve() for r in a.root or [HERE]]
    figures: dict[Path, dict[str, list[float]]] = {r: {} for r in roots}
    firsts: dict[Path, float] = {}
    with tempfile.TemporaryDirectory(prefix="cli-bench-") as tmp:
        homes = {}
        for i, root in enumerate(roots):
            home, shop = Path(tmp) / f"empty{i}", Path(tmp) / f"shop{i}"
            home.mkdir()
            shop.mkdir()
            os.chdir(root)
            cli = [sys.executable, "-m", "rxpanel"]
            firsts[root] = wall([*cli, "app", "list"], env_for(root, home))
            setup = [sys.executable, "-c", SETUP, str(shop)]
            subprocess.run(setup, env=env_for(root, shop), check=True, capture_output=True)
            wall([*cli, "app", "list"], env_for(root, shop))  # a user's second command
            homes[root] = (home, shop)
        for _ in range(a.rounds):  # interleaved: every checkout sees the same load
            for root in roots:
                for name, value in one_round(root, *homes[root], a.app).items():
                    figures[root].setdefault(name, []).append(value)
            a.app = None if len(roots) > 1 else a.app  # end to end: one checkout only

    names = list(figures[roots[0]])
    width = max(map(len, names)) + 2
    print(f"CLI start-up, median of {a.rounds} rounds, {sys.executable}; seconds")
    print(f"  {'':<{width}}" + "".join(f"  {str(r):>24}" for r in roots))
    for name in names:
        cells = "".join(
            f"  {statistics.median(figures[r][name]):>24.3f}" if name in figures[r] else ""
            for r in roots
        )
        print(f"  {name:<{width}}{cells}")
    print(
        f"  {'app list, first run (migrates)':<{width}}"
        + "".join(f"  {firsts[r]:>24.3f}" for r in roots)
    )
    summary = {
        str(r): {k: round(statistics.median(v), 3) for k, v in figures[r].items()} for r in roots
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
