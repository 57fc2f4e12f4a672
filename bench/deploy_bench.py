"""rxpanel vs the naive recipe, side by side in one run, on the local sandbox.

    .venv/bin/python bench/deploy_bench.py [--rounds 3] [--rate 40]

Measures, for the sample Reflex app from a real git repo:
  cold first deploy       nothing built or installed yet (no build venv, .web, server venv)
  warm code redeploy      a one-line change to a page (the frontend changes), .web and venvs kept
  python-only change      a one-line change to an API route (the compiled frontend is the same)
  unchanged redeploy      the same commit again (rxpanel only: build cache)
  rollback                to the previous release (rxpanel: the warm standby)
and, during every redeploy and rollback, a loopback load of --rate requests/s
spread over /, /ping and /api/version, counting failed requests.

Durations are wall time of the work: rxpanel's is the deployment's run from its
database row (start to finish, in this process, no CLI start-up); the naive
recipe runs in this process too. Package caches (pip, uv, npm) are warmed by an
untimed round first so neither side pays for downloads."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from load import Load  # noqa: E402
from naive_recipe import NaiveRecipe  # noqa: E402
from sandbox_server import register  # noqa: E402

from tests.conftest import AppRepo, free_port  # noqa: E402

PATHS = ["/", "/ping", "/api/version"]


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--rate", type=float, default=40.0)
    opts = args.parse_args()

    work = Path(tempfile.mkdtemp(prefix="rxbench-"))
    os.environ["RXPANEL_HOME"] = str(work / "home")
    os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
    from rxpanel import db, sandbox
    from rxpanel.services import apps, deployments
    from rxpanel.worker import runs as runner

    db.upgrade()
    box = sandbox.up(work / "sb")
    try:
        repo = AppRepo(work / "repo")
        register(box, "bench")

        def add_app(name: str) -> str:
            url = f"http://127.0.0.1:{free_port()}"
            apps.add(apps.AppInput(name=name, server="bench", source=str(repo.path), url=url))
            return url

        def rx(name: str, kind: str = "deploy") -> float:
            app = apps.get(name)
            dep = deployments.trigger(app.id, kind=kind, trigger="cli", by="bench")
            runner.drain(app.id, done=lambda: deployments.is_final(dep.id))
            dep = deployments.get(dep.id)
            if dep.status != "success":
                raise SystemExit(f"rxpanel {kind} failed: {dep.reason}")
            ran.append(dep.id)
            return (dep.finished_at - dep.started_at).total_seconds()

        ran: list[int] = []

        def timed(fn) -> float:
            start = time.monotonic()
            fn()
            return time.monotonic() - start

        def naive_for(name: str, url: str) -> NaiveRecipe:
            return NaiveRecipe(
                sandbox=box,
                name=name,
                port=free_port(),
                url=url,
                source=repo.path,
                workdir=work / name,
            )

        print("warming package caches (untimed)...", flush=True)
        add_app("warmup")
        rx("warmup")
        warm_naive = naive_for("warmup-naive", f"http://127.0.0.1:{free_port()}")
        warm_naive.deploy()
        shutil.rmtree(work / "home" / "venvs")  # the next rxpanel app starts cold again

        results: dict[str, list] = {}

        def record(key: str, value) -> None:
            results.setdefault(key, []).append(value)

        print("cold first deploy...", flush=True)
        rx_url = add_app("bench-rx")
        record("cold rxpanel s", rx("bench-rx"))
        naive_url = f"http://127.0.0.1:{free_port()}"
        naive = naive_for("bench-naive", naive_url)
        record("cold naive s", timed(naive.deploy))

        for n in range(1, opts.rounds + 1):
            print(f"round {n}/{opts.rounds}...", flush=True)
            repo.set_version(f"v{n + 1}")
            with Load(rx_url, PATHS, opts.rate) as load:
                record("warm redeploy rxpanel s", rx("bench-rx"))
            record("warm redeploy steps", {s.name: s.duration for s in deployments.steps(ran[-1])})
            record("warm redeploy rxpanel load", load.result)
            with Load(naive_url, PATHS, opts.rate) as load:
                record("warm redeploy naive s", timed(naive.deploy))
            record("warm redeploy naive load", load.result)

            python_only(repo, n)
            with Load(rx_url, PATHS, opts.rate) as load:
                record("python-only rxpanel s", rx("bench-rx"))
            record("python-only steps", {s.name: s.duration for s in deployments.steps(ran[-1])})
            record("python-only rxpanel load", load.result)
            with Load(naive_url, PATHS, opts.rate) as load:
                record("python-only naive s", timed(naive.deploy))
            record("python-only naive load", load.result)

            with Load(rx_url, PATHS, opts.rate) as load:
                record("rollback rxpanel s", rx("bench-rx", "rollback"))
            record("rollback rxpanel load", load.result)
            with Load(naive_url, PATHS, opts.rate) as load:
                record("rollback naive s", timed(naive.rollback))
            record("rollback naive load", load.result)

            rx("bench-rx")  # roll forward (to the warm standby), untimed
            naive.rollback()

            # the live commit again: rebuild skipped, restarted on the other colour
            with Load(rx_url, PATHS, opts.rate) as load:
                record("unchanged redeploy rxpanel s", rx("bench-rx"))
            record("unchanged redeploy rxpanel load", load.result)
            with Load(naive_url, PATHS, opts.rate) as load:
                record("unchanged redeploy naive s", timed(naive.deploy))
            record("unchanged redeploy naive load", load.result)

        report(results, opts)
        for label, key in (("warm code redeploy", "warm redeploy"), ("python-only change", "python-only")):
            steps = results[f"{key} steps"]
            print(f"\nrxpanel's {label}, median seconds per step:")
            for name in steps[0]:
                print(f"  {name:16} {statistics.median(x.get(name) or 0 for x in steps):.2f}")
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "deploy_bench.json").write_text(
            json.dumps(
                {
                    k: [v if isinstance(v, float | dict) else vars(v) for v in vs]
                    for k, vs in results.items()
                },
                indent=2,
                default=str,
            )
        )
    finally:
        sandbox.down(box.dir)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def python_only(repo: AppRepo, n: int) -> None:
    """A change the compiled frontend does not see: what an API route answers."""
    app_py = repo.path / "sampleapp" / "sampleapp.py"
    text = app_py.read_text()
    marker = 'os.environ.get("GREETING", "")'
    if marker in text:
        text = text.replace(marker, f'{marker} + " r{n}"', 1)
    else:
        text = text.replace(f'" r{n - 1}"', f'" r{n}"', 1)
    app_py.write_text(text)
    repo.commit(f"python only, round {n}")


def report(r: dict, opts) -> None:
    med = lambda k: statistics.median(r[k])  # noqa: E731
    fails = lambda k: (sum(x.failed for x in r[k]), sum(x.sent for x in r[k]))  # noqa: E731

    print(
        f"\nrxpanel vs naive recipe: sample Reflex app, sandbox on loopback, "
        f"{opts.rounds} rounds, load {opts.rate:g} req/s on {', '.join(PATHS)}\n"
    )
    rows = [
        ("cold first deploy", r["cold rxpanel s"][0], r["cold naive s"][0]),
        (
            "warm code redeploy (median)",
            med("warm redeploy rxpanel s"),
            med("warm redeploy naive s"),
        ),
        (
            "python-only change (median)",
            med("python-only rxpanel s"),
            med("python-only naive s"),
        ),
        (
            "unchanged commit redeploy (median)",
            med("unchanged redeploy rxpanel s"),
            med("unchanged redeploy naive s"),
        ),
        ("rollback (median)", med("rollback rxpanel s"), med("rollback naive s")),
    ]
    print(f"{'':38}{'rxpanel':>10}{'naive':>10}{'ratio':>8}")
    for label, ours, theirs in rows:
        ratio = f"{ours / theirs:.2f}" if theirs else ""
        naive_txt = f"{theirs:.2f}s" if theirs else "-"
        print(f"{label:38}{ours:>9.2f}s{naive_txt:>10}{ratio:>8}")
    print("\nfailed requests under load")
    for label, key in (
        ("warm code redeploy", "warm redeploy"),
        ("python-only change", "python-only"),
        ("unchanged redeploy", "unchanged redeploy"),
        ("rollback", "rollback"),
    ):
        ours = fails(f"{key} rxpanel load")
        line = f"  {label:22} rxpanel {ours[0]}/{ours[1]}"
        if f"{key} naive load" in r:
            theirs = fails(f"{key} naive load")
            pct = 100 * theirs[0] / theirs[1] if theirs[1] else 0
            line += f"   naive {theirs[0]}/{theirs[1]} ({pct:.1f}%)"
        print(line)
    for key in sorted(k for k in r if k.endswith("load")):
        for x in r[key]:
            if x.failed:
                print(f"  {key}: {x}")
    print("\ntargets")
    checks = [
        (
            "frontend change <= 0.9x naive",
            med("warm redeploy rxpanel s") <= 0.9 * med("warm redeploy naive s"),
        ),
        (
            "python-only change <= 0.4x naive",
            med("python-only rxpanel s") <= 0.4 * med("python-only naive s"),
        ),
        ("cold first deploy <= 0.8x naive", r["cold rxpanel s"][0] <= 0.8 * r["cold naive s"][0]),
        ("unchanged commit redeploy <= 3 s", med("unchanged redeploy rxpanel s") <= 3),
        ("rollback to the warm release <= 1 s", max(r["rollback rxpanel s"]) <= 1),
        (
            "0 failed requests (rxpanel redeploy + rollback)",
            sum(
                fails(k)[0]
                for k in (
                    "warm redeploy rxpanel load",
                    "python-only rxpanel load",
                    "unchanged redeploy rxpanel load",
                    "rollback rxpanel load",
                )
            )
            == 0,
        ),
    ]
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")


if __name__ == "__main__":
    raise SystemExit(main())
