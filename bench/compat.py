"""Public Reflex apps, deployed unchanged from git to the local sandbox.

    .venv/bin/python bench/compat.py [--only NAME ...] [--mirror /work/.mirror]

For every app of bench/corpus.py: a fresh git repository holding the app as
published, `app add` + `deploy` through rxpanel's own services and worker (as
the CLI does), then the public side asked through nginx (`/` as a browser and
as curl, `/ping`). Prints: app, the Reflex it resolved to, result, deploy time,
first line of the reason. Every app is built cold (its own build venv)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import httpx  # noqa: E402
from corpus import CORPUS, MIRROR, materialise  # noqa: E402
from sandbox_server import register, workdir  # noqa: E402

from tests.conftest import free_port  # noqa: E402


def serving(url: str) -> str:
    """'' when the public side answers, else what did not."""
    problems = []
    for who, accept in (("browser", "text/html,*/*;q=0.8"), ("curl", "*/*")):
        r = httpx.get(url + "/", headers={"Accept": accept}, timeout=10)
        if r.status_code != 200 or "<html" not in r.text[:4096].lower():
            problems.append(f"/ answered {r.status_code} to {who}")
    ping = httpx.get(url + "/ping", timeout=10)
    if ping.status_code != 200 or "pong" not in ping.text:
        problems.append(f"/ping answered {ping.status_code}")
    return "; ".join(problems)


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--only", nargs="*", default=None, help="app names of the corpus")
    args.add_argument("--mirror", type=Path, default=MIRROR)
    opts = args.parse_args()
    chosen = [a for a in CORPUS if not opts.only or a.name in opts.only]

    work = workdir("rxcompat-")
    os.environ["RXPANEL_HOME"] = str(work / "home")
    os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
    from rxpanel import db, sandbox
    from rxpanel.deploy import build, resolve
    from rxpanel.services import apps, deployments
    from rxpanel.worker import runs as runner

    db.upgrade()
    box = sandbox.up(work / "sb")
    rows = []
    try:
        register(box, "compat")
        for app in chosen:
            print(f"{app.name}: {app.repo}@{app.commit} {app.subdir} ...", flush=True)
            repo = materialise(app, work / "repos" / app.name, opts.mirror)
            url = f"http://127.0.0.1:{free_port()}"
            apps.add(
                apps.AppInput(
                    name=app.name, server="compat", source=str(repo), url=url, health_timeout=180
                )
            )
            dep = deployments.trigger(
                apps.get(app.name).id, kind="deploy", trigger="cli", by="compat"
            )
            started = time.monotonic()
            runner.drain(dep.app_id, done=lambda d=dep.id: deployments.is_final(d))
            took = time.monotonic() - started
            dep = deployments.get(dep.id)
            kept = sorted((build.workspace(app.name) / "resolved").glob("*.txt"))
            pinned = [resolve.pinned_reflex(p.read_bytes()) for p in kept]
            version = next((str(v) for v in pinned if v), "?")
            if dep.status == "success":
                problem = serving(url)
                result, reason = ("serving", "") if not problem else ("not serving", problem)
            else:
                result, reason = dep.status, (dep.reason or "").splitlines()[0][:110]
            rows.append((app.name, version, result, took, reason))
            print(f"  -> {result} in {took:.0f} s {reason}", flush=True)
    finally:
        sandbox.down(box.dir)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'app':15}{'reflex':15}{'result':13}{'deploy s':>9}  reason")
    for name, version, result, took, reason in rows:
        print(f"{name:15}{version:15}{result:13}{took:9.0f}  {reason}")
    ok = sum(r[2] == "serving" for r in rows)
    print(f"\n{ok} of {len(rows)} apps deployed and serving")
    return 0 if ok == len(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
