"""The overview with 200 apps and 50,000 health-check rows, in headless Chromium.

    .venv/bin/python bench/dashboard_bench.py [--apps 200] [--checks 50000] [--clicks 50]

Starts the panel as users run it (`reflex run --env prod`) on a seeded database
and measures, from the browser's own clock:
  interactive   navigation start until the overview shows every app row and a
                server event has answered (the websocket is up and hydrated);
                median of several cold page loads (new browser context each);
  round trip    a click that needs the server (open the "Add server" dialog: an
                event handler sets state, the update comes back and renders),
                click to visible; p50 and p95 over --clicks clicks."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from sandbox_server import workdir  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> int:
    opts = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    opts.add_argument("--apps", type=int, default=200)
    opts.add_argument("--checks", type=int, default=50_000)
    opts.add_argument("--clicks", type=int, default=50)
    opts.add_argument("--loads", type=int, default=5)
    args = opts.parse_args()

    home = workdir("rxdash-")
    os.environ["RXPANEL_HOME"] = str(home)
    token = seed(args.apps, args.checks)

    from tests.conftest import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "REFLEX_USE_NPM": "1",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "PATH": f"{ROOT / '.venv/bin'}{os.pathsep}{os.environ['PATH']}",
    }
    log = (home / "panel.log").open("wb")
    panel = subprocess.Popen(
        [str(ROOT / ".venv/bin/reflex"), "run", "--env", "prod", "--backend-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_up(url)
        interactive, clicks = measure(url, token, args)
    finally:
        os.killpg(panel.pid, 15)
        panel.wait(timeout=30)

    p95 = statistics.quantiles(clicks, n=20)[-1]
    print(f"\noverview: {args.apps} apps, {args.checks} health-check rows, SQLite")
    print(
        f"interactive (median of {len(interactive)} cold loads): "
        f"{statistics.median(interactive):.0f} ms  (all: {', '.join(f'{x:.0f}' for x in interactive)})"
    )
    print(
        f"event round trip over {len(clicks)} clicks: p50 {statistics.median(clicks):.1f} ms, "
        f"p95 {p95:.1f} ms, max {max(clicks):.1f} ms"
    )
    print(
        f"targets: interactive <= 1500 ms: {'PASS' if statistics.median(interactive) <= 1500 else 'MISS'}; "
        f"round trip p95 <= 100 ms: {'PASS' if p95 <= 100 else 'MISS'}"
    )
    return 0


def seed(apps: int, checks: int) -> str:
    """Apps across 4 servers, each deployed with a history; health rows spread over
    7 days. Returns a session token for an admin."""
    from rxpanel import db, secrets
    from rxpanel.models import App, AppServer, Deployment, HealthCheck, Release, Server, utcnow
    from rxpanel.services import users

    db.upgrade()
    now = utcnow()
    with db.session() as s:
        servers = [
            Server(name=f"srv{i}", host=f"10.0.0.{i + 1}", ssh_key_enc=secrets.encrypt("x"))
            for i in range(4)
        ]
        s.add_all(servers)
        s.flush()
        for i in range(apps):
            app = App(
                name=f"app-{i:03d}",
                source="https://git.example/src.git",
                url=f"https://app-{i:03d}.example.com",
                env_enc=secrets.encrypt("{}"),
                health_state=random.choice(["healthy"] * 8 + ["degraded", "down"]),
            )
            s.add(app)
            s.flush()
            s.add(
                AppServer(
                    app_id=app.id,
                    server_id=servers[i % 4].id,
                    port_blue=8100 + 2 * (i // 4),
                    port_green=8101 + 2 * (i // 4),
                    primary=True,
                )
            )
            for k in range(3):
                rel = Release(
                    id=f"2026010{k + 1}T000000-{i:06x}",
                    app_id=app.id,
                    commit=f"{i:040x}",
                    build_key="k",
                    req_hash="h",
                    env_enc="x",
                    status="live" if k == 2 else "good",
                    live_at=now - timedelta(days=3 - k),
                )
                s.add(rel)
                s.add(
                    Deployment(
                        app_id=app.id,
                        status="success",
                        trigger="webhook",
                        triggered_by="github push",
                        commit=rel.commit,
                        release_id=rel.id,
                        reason="ok",
                        created_at=now - timedelta(days=3 - k),
                        started_at=now - timedelta(days=3 - k),
                        finished_at=now,
                    )
                )
            app.current_release_id, app.live_color = rel.id, "blue"
            s.add(app)
        s.flush()
        step = timedelta(days=7) / max(1, checks // apps)
        rows = [
            HealthCheck(
                app_id=1 + (n % apps),
                checked_at=now - step * (n // apps),
                ok=random.random() > 0.02,
                status_code=200,
                latency_ms=random.uniform(5, 80),
            )
            for n in range(checks)
        ]
        s.add_all(rows)
    user = users.create("bench", "bench-password", "admin")
    return users.start_session(user.id, "127.0.0.1")


def wait_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the panel did not start")


def measure(url: str, token: str, args) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    cookie = {"name": "rxpanel_session", "value": token, "url": url}
    interactive, clicks = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        warm = browser.new_context()
        warm.add_cookies([cookie])
        warm.new_page().goto(url)  # compile caches, first hydration: not measured
        warm.close()
        for _ in range(args.loads):
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            ctx.add_cookies([cookie])
            page = ctx.new_page()
            page.goto(url, wait_until="commit")
            page.wait_for_function(
                f"document.querySelectorAll('#apps-table tbody tr').length >= {args.apps}",
                timeout=30000,
            )
            # a server event must have answered: the rows above came through the websocket
            interactive.append(page.evaluate("performance.now()"))
            ctx.close()
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        ctx.add_cookies([cookie])
        page = ctx.new_page()
        page.goto(f"{url}/servers")
        page.wait_for_selector("#add-server")
        for _ in range(args.clicks):
            elapsed = page.evaluate("""() => new Promise(resolve => {
                const start = performance.now();
                const seen = () => document.querySelector('#server-form');
                const observer = new MutationObserver(() => {
                    if (seen()) { observer.disconnect(); resolve(performance.now() - start); }
                });
                observer.observe(document.body, {childList: true, subtree: true});
                document.querySelector('#add-server').click();
            })""")
            clicks.append(elapsed)
            page.keyboard.press("Escape")
            page.wait_for_selector("#server-form", state="detached")
        browser.close()
    return interactive, clicks


if __name__ == "__main__":
    raise SystemExit(main())
