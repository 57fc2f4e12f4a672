"""rxpanel vs the naive recipe, side by side in one run, on the local sandbox.

    .venv/bin/python bench/deploy_bench.py [--rounds 3] [--rate 40]

Measures, for the sample Reflex app from a real git repo:
  cold first deploy       nothing built or installed yet (no build venv, .web, server venv)
  warm code redeploy      a one-line change to a page (the frontend changes), .web and venvs kept
  python-only change      a one-line change to an API route (the compiled frontend is the same)
  env-only change         one runtime variable changed (rxpanel: no build; naive: its
                          whole recipe again, which is what a hand-written script does)
  unchanged redeploy      the same commit again (rxpanel only: build cache)
  rollback                to the previous release (rxpanel: the warm standby)
  through the CLI         python-only change, env-only change and rollback again, as a
                          user types them (`rxpanel app env`, `rxpanel deploy`, `rxpanel
                          rollback`), timed end to end from the shell: start-up included
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
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from load import Load  # noqa: E402
from naive_recipe import NaiveRecipe  # noqa: E402
from sandbox_server import register, workdir  # noqa: E402

from tests.conftest import AppRepo, free_port  # noqa: E402

PATHS = ["/", "/ping", "/api/version"]
RXPANEL = str(Path(sys.executable).with_name("rxpanel"))


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=3)
    args.add_argument("--rate", type=float, default=40.0)
    opts = args.parse_args()

    work = workdir("rxbench-")
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

        def cli(*argv: str) -> float:
            """One command as a user types it; wall time from the shell, start-up included."""
            start = time.monotonic()
            out = subprocess.run([RXPANEL, *argv], capture_output=True, text=True)
            took = time.monotonic() - start
            if out.returncode:
                raise SystemExit(f"rxpanel {' '.join(argv)} failed: {out.stderr.strip()}")
            return took

        def greeting(url: str) -> str:
            import httpx

            return httpx.get(f"{url}/api/greeting", timeout=5).json()["greeting"]

        def built(dep_id: int) -> bool:
            return any(s.name == "build" for s in deployments.steps(dep_id))  # a step journals when it runs

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

            # one runtime variable: rxpanel restarts on the other colour, builds nothing
            apps.set_env("bench-rx", {"GREETING": f"hello {n}"})
            with Load(rx_url, PATHS, opts.rate) as load:
                record("env-only rxpanel s", rx("bench-rx"))
            record("env-only steps", {s.name: s.duration for s in deployments.steps(ran[-1])})
            record("env-only rxpanel load", load.result)
            record("env-only rxpanel built", built(ran[-1]))
            record("env-only rxpanel served", greeting(rx_url) == f"hello {n}")
            with Load(naive_url, PATHS, opts.rate) as load:
                record("env-only naive s", timed(naive.deploy))
            record("env-only naive load", load.result)

            # the live commit again: rebuild skipped, restarted on the other colour
            with Load(rx_url, PATHS, opts.rate) as load:
                record("unchanged redeploy rxpanel s", rx("bench-rx"))
            record("unchanged redeploy rxpanel load", load.result)
            with Load(naive_url, PATHS, opts.rate) as load:
                record("unchanged redeploy naive s", timed(naive.deploy))
            record("unchanged redeploy naive load", load.result)

            # the same changes through the CLI, as a user types them
            python_only(repo, n + 100)
            with Load(rx_url, PATHS, opts.rate) as load:
                record("cli python-only s", cli("deploy", "bench-rx"))
            record("cli python-only load", load.result)
            with Load(rx_url, PATHS, opts.rate) as load:
                took = cli("app", "env", "bench-rx", f"GREETING=cli {n}")
                took += cli("deploy", "bench-rx")
                record("cli env-only s", took)
            record("cli env-only load", load.result)
            record("cli env-only served", greeting(rx_url) == f"cli {n}")
            with Load(rx_url, PATHS, opts.rate) as load:
                record("cli rollback s", cli("rollback", "bench-rx"))
            record("cli rollback load", load.result)
            rx("bench-rx")  # roll forward again, untimed

        report(results, opts)
        for label, key in (
            ("warm code redeploy", "warm redeploy"),
            ("python-only change", "python-only"),
            ("env-only change", "env-only"),
        ):
            steps = results[f"{key} steps"]
            print(f"\nrxpanel's {label}, median seconds per step:")
            for name in steps[0]:
                print(f"  {name:16} {statistics.median(x.get(name) or 0 for x in steps):.2f}")
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "deploy_bench.json").write_text(
            json.dumps(
                {
                    k: [v if isinstance(v, float | dict | bool) else vars(v) for v in vs]
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
        ("env-only change (median)", med("env-only rxpanel s"), med("env-only naive s")),
        ("rollback (median)", med("rollback rxpanel s"), med("rollback naive s")),
        ("CLI: python-only change (median)", med("cli python-only s"), 0),
        ("CLI: env-only change (median)", med("cli env-only s"), 0),
        ("CLI: rollback (median)", med("cli rollback s"), med("rollback naive s")),
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
        ("env-only change", "env-only"),
        ("unchanged redeploy", "unchanged redeploy"),
        ("rollback", "rollback"),
        ("CLI python-only", "cli python-only"),
        ("CLI env-only", "cli env-only"),
        ("CLI rollback", "cli rollback"),
    ):
        ours = fails(f"{key} rxpanel load" if f"{key} rxpanel load" in r else f"{key} load")
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
            "env-only change <= 2 s, no build, new value served",
            med("env-only rxpanel s") <= 2
            and not any(r["env-only rxpanel built"])
            and all(r["env-only rxpanel served"] + r["cli env-only served"]),
        ),
        ("rollback through the CLI <= 1 s end to end", med("cli rollback s") <= 1),
        (
            "0 failed requests (rxpanel redeploy + rollback)",
            sum(
                fails(k)[0]
                for k in (
                    "warm redeploy rxpanel load",
                    "python-only rxpanel load",
                    "unchanged redeploy rxpanel load",
                    "rollback rxpanel load",
                    "env-only rxpanel load",
                    "cli python-only load",
                    "cli env-only load",
                    "cli rollback load",
                )
            )
            == 0,
        ),
    ]
    for label, ok in checks:
        print(f"  {'PASS' if ok else 'MISS'}  {label}")


if __name__ == "__main__":
    raise SystemExit(main())
