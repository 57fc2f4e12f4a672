"""Open tabs through a deploy and a rollback (issue 14), on the local sandbox.

    .venv/bin/python bench/sessions_bench.py [--tabs 20] [--timeout 1500] [--no-rollback]

The sample Reflex app (its counter: #increment, #count; its version: #version) is
deployed (v1) from a real git repo; N tabs of one headless Chromium (one browser
context, one page per tab: each tab has its own sessionStorage, so its own Reflex
token) each click the counter to a distinct k (tab i to k = i + 1); then v2 (a
visible change: the heading reads "sample v2") is deployed, and then rolled back.

Measured per tab, in the browser itself (an init script stamps, with Date.now(),
the first moment the page shows a given heading + count, and the document's
performance.timeOrigin, i.e. when its reload began), against the deployment's own
timestamps from the panel database (same machine, same clock):
  from the switch      the end of the deploy's `switch` step (started_at + duration):
                       from then nginx serves the new release and /_rxpanel/release
  from the deploy end  the deployment's finished_at (after `finish` and `cutover`)
  to v2                the heading shows the new version (the page may still show the
                       default count 0 until its state arrives over the websocket)
  to v2 + state        the heading shows the new version and the count reads k
  on v2 before its count  how long a moved tab showed the new heading with the default
                       count (0) before its state came over the websocket
  before the deploy end  tabs whose count was back before the deployment finished
Then, after the tabs settled (or the move timeout):
  lost state           a tab on the new release whose count is not k (or that never moved)
  failed events        one click per tab that does not bring the count to k + 1 in 10 s
  token changed        a tab whose Reflex token (sessionStorage) is not the one it had
The same for a rollback to v1 (counts k + 1, a click after the move must give k + 2).

Clicks and waits poll every 50 ms on the tab brought to front (without that, with
Playwright's default requestAnimationFrame polling, a 20-tab run made no progress in
its clicks for minutes: likely rAF not firing in background tabs; not dug into).
Loopback only; everything (sandbox, browser, temp dirs) is cleaned up; a global
timeout (SIGALRM) bounds the whole run."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import sys
import threading
import time
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from sandbox_server import register, workdir  # noqa: E402

from tests.conftest import AppRepo, free_port  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

APP = "sessions"
MOVE_TIMEOUT = 60.0  # seconds after the deploy's end for every tab to move (the bound)
CLICK_TIMEOUT_MS = 10_000

# Runs in every document of every tab, reloads included: stamps the first time each
# (heading, count) pair is on screen, and when this document's navigation began.
STAMPS = """
(() => {
  const seen = {};
  window.__rxbench = { seen, origin: performance.timeOrigin,
    nav: (performance.getEntriesByType('navigation')[0] || {}).type || '' };
  const look = () => {
    const h = document.querySelector('#version'), c = document.querySelector('#count');
    if (!h) return;
    const key = h.innerText.trim() + '|' + (c ? c.innerText.trim() : '');
    if (!(key in seen)) seen[key] = Date.now();
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true,
    characterData: true });
  setInterval(look, 50);
})();
"""

TOKEN_JS = (
    "() => { for (let i = 0; i < sessionStorage.length; i++) {"
    " const k = sessionStorage.key(i); if (k.includes('token')) return sessionStorage"
    ".getItem(k); } return null; }"
)

COUNT_IS = (
    "n => { const c = document.querySelector('#count');"
    " return !!c && c.innerText.trim() === String(n); }"
)


class Timeout(Exception):
    pass


def _stop(why: str):
    raise Timeout(why)


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--tabs", type=int, default=20)
    args.add_argument("--timeout", type=float, default=1500, help="global bound, seconds")
    args.add_argument("--no-rollback", action="store_true")
    opts = args.parse_args()

    def on_alarm(*_):
        raise Timeout(f"global timeout of {opts.timeout:g} s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, lambda *_: _stop("SIGTERM"))
    signal.setitimer(signal.ITIMER_REAL, opts.timeout)
    started = time.monotonic()

    work = workdir("rxsessbench-")
    os.environ["RXPANEL_HOME"] = str(work / "home")
    os.environ["REFLEX_TELEMETRY_ENABLED"] = "false"
    from rxpanel import db, sandbox
    from rxpanel.services import apps, deployments
    from rxpanel.worker import runs as runner

    db.upgrade()
    box = None
    try:
        box = sandbox.up(work / "sb")
        repo = AppRepo(work / "repo")
        register(box, "bench")
        url = f"http://127.0.0.1:{free_port()}"
        apps.add(apps.AppInput(name=APP, server="bench", source=str(repo.path), url=url))

        def trigger(kind: str = "deploy") -> int:
            app = apps.get(APP)
            return deployments.trigger(app.id, kind=kind, trigger="cli", by="bench").id

        def run(dep_id: int) -> None:
            runner.drain(apps.get(APP).id, done=lambda: deployments.is_final(dep_id))

        print(f"deploying v1 (cold) to {url}...", flush=True)
        t0 = time.monotonic()
        dep_id = trigger()
        run(dep_id)
        check_success(deployments, dep_id, "v1 deploy")
        names = [s.name for s in deployments.steps(dep_id)]
        print(f"  v1 live in {time.monotonic() - t0:.0f} s; steps: {', '.join(names)}", flush=True)
        if "state store" not in names:
            print("  NOTE: no `state store` step ran: state cannot survive the move", flush=True)

        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context()
                context.add_init_script(STAMPS)
                tabs = open_tabs(context, url, opts.tabs)
                results = {}
                phases = [("deploy", "v2")]
                if not opts.no_rollback:
                    phases.append(("rollback", "v1"))
                for kind, version in phases:
                    if kind == "deploy":
                        repo.set_version("v2")
                    print(f"\n{kind} to {version} with {len(tabs)} open tabs...", flush=True)
                    dep_id = trigger(kind)
                    worker = threading.Thread(target=run, args=(dep_id,), daemon=True)
                    worker.start()
                    while worker.is_alive():
                        tabs[0]["page"].wait_for_timeout(250)  # keep Playwright's loop turning
                    check_success(deployments, dep_id, f"{kind} to {version}")
                    results[kind] = measure(deployments, dep_id, tabs, version)
                    report(kind, version, results[kind], len(tabs))
            finally:
                browser.close()
        print(f"\ntotal run time {time.monotonic() - started:.0f} s")
    except Timeout as e:
        print(f"\nABORTED: {e}", flush=True)
        return 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if box is not None:
            sandbox.down(box.dir)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def check_success(deployments, dep_id: int, what: str) -> None:
    dep = deployments.get(dep_id)
    if dep.status != "success":
        raise SystemExit(f"{what} failed: {dep.status} {dep.reason}")


def open_tabs(context, url: str, n: int) -> list[dict]:
    tabs = []
    t0 = time.monotonic()
    for i in range(n):
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{url}/")
        page.wait_for_selector("#version")
        tabs.append({"i": i, "k": i + 1, "page": page})
    print(f"  {n} tabs loaded in {time.monotonic() - t0:.0f} s; clicking...", flush=True)
    for tab in tabs:  # state in: tab i clicks to k = i + 1, each event seen before the next
        page = tab["page"]
        page.bring_to_front()
        for c in range(1, tab["k"] + 1):
            page.click("#increment")
            page.wait_for_function(COUNT_IS, arg=c, polling=50, timeout=CLICK_TIMEOUT_MS)
        tab["token"] = page.evaluate(TOKEN_JS)
        print(f"    tab {tab['i']} at {tab['k']} ({time.monotonic() - t0:.0f} s)", flush=True)
        tab["count"] = tab["k"]
    print(
        f"  {n} tabs open on v1, counters at 1..{n}, in {time.monotonic() - t0:.0f} s; "
        f"tokens distinct: {len({t['token'] for t in tabs}) == n}",
        flush=True,
    )
    return tabs


def epoch(dt) -> float:
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def measure(deployments, dep_id: int, tabs: list[dict], version: str) -> dict:
    from sqlmodel import select

    from rxpanel import db
    from rxpanel.models import DeploymentStep

    with db.session() as s:
        rows = s.exec(select(DeploymentStep).where(DeploymentStep.deployment_id == dep_id)).all()
        step = {r.name: (epoch(r.started_at), r.duration) for r in rows}
    dep = deployments.get(dep_id)
    began = epoch(dep.started_at)
    switched = step["switch"][0] + step["switch"][1]
    ended = epoch(dep.finished_at)
    heading = f"sample {version}"

    def stamps(page) -> dict | None:
        try:
            return page.evaluate("() => window.__rxbench || null")
        except Exception:  # noqa: BLE001 - mid-reload: the next look finds it
            return None

    # wait for every tab to show the new heading with its count (or the move timeout)
    want = {t["i"]: f"{heading}|{t['count']}" for t in tabs}
    seen: dict[int, dict] = {}
    limit = ended + MOVE_TIMEOUT
    while time.time() < limit:
        for t in tabs:
            st = stamps(t["page"])
            if st:
                seen[t["i"]] = st
        if all(want[i] in (seen.get(i) or {}).get("seen", {}) for i in want):
            break
        tabs[0]["page"].wait_for_timeout(200)

    per_tab = []
    for t in tabs:
        st = seen.get(t["i"]) or {"seen": {}, "origin": 0, "nav": ""}
        first_v = min(
            (ms for key, ms in st["seen"].items() if key.startswith(heading + "|")), default=None
        )
        with_state = st["seen"].get(want[t["i"]])
        per_tab.append(
            {
                "i": t["i"],
                "k": t["k"],
                "reload_at": st["origin"] / 1000
                if st["nav"] == "reload" and st["origin"] / 1000 > began
                else None,
                "v_at": first_v / 1000 if first_v else None,
                "state_at": with_state / 1000 if with_state else None,
                "shown": sorted(st["seen"]),
            }
        )

    # state, token, and one click each
    for t, r in zip(tabs, per_tab, strict=True):
        page = t["page"]
        try:
            r["version_now"] = page.inner_text("#version", timeout=5000).strip()
            r["count_now"] = page.inner_text("#count", timeout=5000).strip()
            r["token_same"] = page.evaluate(TOKEN_JS) == t["token"]
        except Exception as e:  # noqa: BLE001
            r["version_now"], r["count_now"], r["token_same"] = f"? {e}", "?", False
        r["lost"] = r["version_now"] != heading or r["count_now"] != str(t["count"])
        base = int(r["count_now"]) if r["count_now"].isdigit() else t["count"]
        try:
            page.bring_to_front()
            page.click("#increment", timeout=5000)
            page.wait_for_function(COUNT_IS, arg=base + 1, polling=50, timeout=CLICK_TIMEOUT_MS)
            r["event_ok"] = True
            t["count"] = base + 1
        except Exception:  # noqa: BLE001
            r["event_ok"] = False
            t["count"] = base
    return {"switched": switched, "ended": ended, "steps": step, "tabs": per_tab}


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def report(kind: str, version: str, res: dict, n: int) -> None:
    switched, ended, tabs = res["switched"], res["ended"], res["tabs"]
    steps = res["steps"]
    order = sorted(steps, key=lambda k: steps[k][0])
    print("  steps (s): " + ", ".join(f"{k} {steps[k][1]:.2f}" for k in order))
    print(
        f"  switch ended -> deploy ended: {ended - switched:.2f} s (public check, finish, cutover)"
    )

    def line(label: str, key: str, origin: float) -> None:
        vals = [t[key] - origin for t in tabs if t[key] is not None]
        missing = n - len(vals)
        if not vals:
            print(f"  {label:40} no tab")
            return
        print(
            f"  {label:40} p50 {statistics.median(vals):6.2f}  p95 {pct(vals, 95):6.2f}  "
            f"max {max(vals):6.2f}  min {min(vals):6.2f} s"
            + (f"   ({missing} tabs never)" if missing else "")
        )

    print(f"  time to new release ({version}), over {n} tabs, seconds:")
    line("reload began, from switch", "reload_at", switched)
    line(f"shows {version}, from switch", "v_at", switched)
    line(f"shows {version} + its count, from switch", "state_at", switched)
    line(f"shows {version}, from deploy end", "v_at", ended)
    line(f"shows {version} + its count, from deploy end", "state_at", ended)
    gap = [t["state_at"] - t["v_at"] for t in tabs if t["state_at"] and t["v_at"]]
    if gap:
        print(
            f"  {'on ' + version + ' before its count came':40} p50 {statistics.median(gap):6.2f}  "
            f"p95 {pct(gap, 95):6.2f}  max {max(gap):6.2f} s (meanwhile the page shows the"
            " default count)"
        )
    early = [t for t in tabs if t["state_at"] and t["state_at"] < ended]
    print(f"  tabs whose count came back before the deploy ended (cutover): {len(early)}/{n}")
    lost = [t for t in tabs if t["lost"]]
    failed = [t for t in tabs if not t["event_ok"]]
    tok = [t for t in tabs if not t["token_same"]]
    print(f"  tabs that lost state: {len(lost)}/{n} (target 0)")
    print(f"  failed events (click after the move): {len(failed)}/{n} (target 0)")
    print(f"  tabs whose Reflex token changed: {len(tok)}/{n}")
    for t in sorted({id(x): x for x in lost + failed + tok}.values(), key=lambda x: x["i"]):
        print(
            f"    tab {t['i']} (k={t['k']}): shows {t['version_now']!r} count {t['count_now']!r}, "
            f"event {'ok' if t['event_ok'] else 'FAILED'}, token "
            f"{'same' if t['token_same'] else 'CHANGED'}; seen {t['shown']}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
