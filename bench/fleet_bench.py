"""Deploying to 8 servers against deploying to 1.

    .venv/bin/python bench/fleet_bench.py [--servers 8] [--rounds 3]

Each server is a sandbox in its own network namespace (its own host: sshd, nginx,
supervisord). The same sample app goes to one server and, as a fleet, to all of
them: built once, uploaded and health-gated in parallel, switched together.
Measured: the first (cold) deploy, and a code redeploy (median of --rounds), as
each deployment's own duration from its database row. Prints the ratio."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox_server import register, workdir  # noqa: E402

from tests.conftest import AppRepo  # noqa: E402


def main() -> int:
    opts = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    opts.add_argument("--servers", type=int, default=8)
    opts.add_argument("--rounds", type=int, default=3)
    args = opts.parse_args()

    work = workdir("rxfleet-")
    os.environ["RXPANEL_HOME"] = str(work / "home")
    os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
    from rxpanel import db, sandbox
    from rxpanel.services import apps, deployments
    from rxpanel.worker import runs as runner

    db.upgrade()
    boxes = []
    try:
        for i in range(args.servers):
            boxes.append(sandbox.up(work / f"box{i}", netns=True))
            box = boxes[-1]
            register(box, f"box{i}")
        repo = AppRepo(work / "repo")
        apps.add(
            apps.AppInput(
                name="single", server="box0", source=str(repo.path), url="http://single.test:18080"
            )
        )
        apps.add(
            apps.AppInput(
                name="fleet", server="box0", source=str(repo.path), url="http://fleet.test:18081"
            )
        )
        for i in range(1, args.servers):
            apps.add_server("fleet", f"box{i}")

        steps: dict[str, list[dict[str, float]]] = {"single": [], "fleet": []}

        def deploy(name: str) -> float:
            app = apps.get(name)
            dep = deployments.trigger(app.id, trigger="cli", by="bench")
            runner.drain(app.id, done=lambda: deployments.is_final(dep.id))
            dep = deployments.get(dep.id)
            if dep.status != "success":
                raise SystemExit(f"{name}: {dep.reason}")
            steps[name].append({s.name: s.duration or 0 for s in deployments.steps(dep.id)})
            return (dep.finished_at - dep.started_at).total_seconds()

        print("cold deploys (the server venvs are made)...", flush=True)
        cold = {"single": deploy("single"), "fleet": deploy("fleet")}
        warm: dict[str, list[float]] = {"single": [], "fleet": []}
        for n in range(args.rounds):
            print(f"round {n + 1}/{args.rounds}...", flush=True)
            repo.set_version(f"v{n + 2}")
            # each app builds its own workspace: time the fleet and the single alike
            warm["single"].append(deploy("single"))
            warm["fleet"].append(deploy("fleet"))
    finally:
        for box in boxes:
            sandbox.down(box.dir)
        shutil.rmtree(work, ignore_errors=True)

    one, many = statistics.median(warm["single"]), statistics.median(warm["fleet"])
    print(
        f"\n1 server vs {args.servers} servers (network namespaces on this machine, "
        f"{os.cpu_count()} CPU cores shared by all of them)"
    )
    print(
        f"  cold first deploy:        1: {cold['single']:.2f} s   {args.servers}: "
        f"{cold['fleet']:.2f} s   ratio {cold['fleet'] / cold['single']:.2f}"
    )
    print(
        f"  code redeploy (median):   1: {one:.2f} s   {args.servers}: {many:.2f} s   "
        f"ratio {many / one:.2f}  (all: {', '.join(f'{x:.2f}' for x in warm['fleet'])})"
    )
    print("  code redeploy steps, median s (1 server / slowest server of the fleet):")
    warm = {k: [_by_step(d) for d in v[1:]] for k, v in steps.items()}  # [0]: the cold one
    for step in warm["fleet"][0]:
        a, b = (statistics.median(x.get(step, 0) for x in warm[k]) for k in ("single", "fleet"))
        print(f"    {step:16} {a:6.2f} / {b:6.2f}")
    print(
        f"target: deploy to {args.servers} servers <= 1.5x one: "
        f"{'PASS' if many <= 1.5 * one else 'MISS'} (code redeploy)"
    )
    return 0


def _by_step(durations: dict[str, float]) -> dict[str, float]:
    """Per step, the slowest server ("upload [box3]" counts as "upload")."""
    out: dict[str, float] = {}
    for name, took in durations.items():
        step = name.split(" [")[0]
        out[step] = max(out.get(step, 0.0), took)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
