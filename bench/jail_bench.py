"""What the build jail costs: the sample app built with and without bubblewrap.

    .venv/bin/python bench/jail_bench.py [--rounds 2]

Each round, for each mode (jail on, jail off, alternating which goes first):
a fresh panel home, then a cold build (resolve, build venv, both exports) and a
warm one (a one-line change, .web and venv kept). Package caches are shared and
warmed by an untimed build first, so neither mode pays for downloads."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from tests.conftest import AppRepo  # noqa: E402


def build_once(home: Path, repo: AppRepo, mode: str) -> dict[str, float]:
    os.environ["RXPANEL_HOME"] = str(home)
    os.environ["RXPANEL_BUILD_JAIL"] = "on" if mode == "jail" else "off"
    from rxpanel import settings
    from rxpanel.deploy import build

    settings.get.cache_clear()  # a new home each time
    times, quiet = {}, lambda line: None
    for label in ("cold", "warm"):
        if label == "warm":
            repo.set_version(f"warm-{time.monotonic_ns()}")
        start = time.monotonic()
        src = build.checkout("bench", str(repo.path), "main", None, quiet)
        venv = build.ensure_build_venv(src, quiet)
        build.export("bench", src, venv, url="http://127.0.0.1:9", env={}, log=quiet)
        times[label] = time.monotonic() - start
    return times


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--rounds", type=int, default=2)
    opts = args.parse_args()
    from rxpanel.deploy import jail

    if not jail.available():
        raise SystemExit("bubblewrap is missing: apt-get install bubblewrap")
    work = Path(tempfile.mkdtemp(prefix="rxjail-"))
    os.environ.setdefault("RXPANEL_BUILD_CACHE", str(work / "cache"))
    results: dict[str, list[float]] = {}
    try:
        repo = AppRepo(work / "repo")
        print("warming package caches (untimed)...", flush=True)
        build_once(work / "warmup", repo, "jail")
        for n in range(opts.rounds):
            order = ("jail", "off") if n % 2 == 0 else ("off", "jail")
            for mode in order:
                print(f"round {n + 1}/{opts.rounds}: {mode}...", flush=True)
                times = build_once(work / f"home-{n}-{mode}", repo, mode)
                for label, seconds in times.items():
                    results.setdefault(f"{label} {mode}", []).append(seconds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nsample app build, {opts.rounds} rounds, median seconds (each run)\n")
    print(f"{'':8}{'jail':>10}{'no jail':>10}{'ratio':>8}")
    for label in ("cold", "warm"):
        on, off = results[f"{label} jail"], results[f"{label} off"]
        ratio = statistics.median(on) / statistics.median(off)
        runs = ", ".join(f"{x:.1f}/{y:.1f}" for x, y in zip(on, off, strict=True))
        print(
            f"{label:8}{statistics.median(on):9.1f}s{statistics.median(off):9.1f}s"
            f"{ratio:8.2f}   ({runs})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
