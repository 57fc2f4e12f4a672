"""Failed requests while deploys fail: a loopback load of 40 requests/s on
/, /ping and /api/version through each fault.

    .venv/bin/python bench/fault_bench.py [--rate 40]

Faults: build error, crash at start, /ping failing, `nginx -t` failing, SSH cut in
the middle of the upload, the deploying process killed (then recovered), the
server's disk full. Each must leave the previous release serving: the load
counts every request that errors or answers anything but 200."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from load import Load  # noqa: E402
from sandbox_server import workdir  # noqa: E402

from tests.conftest import AppRepo, Cli, free_port, wait_for  # noqa: E402
from tests.integration.test_faults import Throttle  # noqa: E402

PATHS = ["/", "/ping", "/api/version"]
CRASH = 'import os\nif "/releases/" in os.getcwd():\n    raise RuntimeError("boom")\n'
SLOW = 'import os, time\nif "/releases/" in os.getcwd():\n    time.sleep(15)\n'


def main() -> int:
    opts = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    opts.add_argument("--rate", type=float, default=40.0)
    args = opts.parse_args()

    work = workdir("rxfaults-")
    from rxpanel import sandbox

    box = sandbox.up(work / "sb")
    small = work / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", str(small)], check=True)
    proxy = Throttle(box.ssh_port)
    cli = Cli(work / "home")
    results = []
    try:
        args_for = box.server_add_args("box")
        args_for[args_for.index("--port") + 1] = str(proxy.port)
        cli.ok(*args_for)
        args_small = box.server_add_args("small")
        args_small[args_small.index("--deploy-root") + 1] = str(small)
        cli.ok(*args_small)
        repo = AppRepo(work / "repo")
        url = f"http://127.0.0.1:{free_port()}"
        cli.ok(
            "app",
            "add",
            "shop",
            "--server",
            "box",
            "--source",
            str(repo.path),
            "--url",
            url,
            "--health-timeout",
            "20",
        )
        small_url = f"http://127.0.0.1:{free_port()}"
        cli.ok(
            "app",
            "add",
            "tiny",
            "--server",
            "small",
            "--source",
            str(repo.path),
            "--url",
            small_url,
            "--health-timeout",
            "20",
        )
        print("first deploys...", flush=True)
        for app in ("shop", "tiny"):
            if cli("deploy", app).returncode:
                raise SystemExit(f"the first deploy of {app} failed")
        app_py = repo.path / "sampleapp" / "sampleapp.py"
        good_code = app_py.read_text()

        def fault(name, prepare, act, restore, target=url):
            print(f"{name}...", flush=True)
            prepare()
            with Load(target, PATHS, args.rate) as load:
                outcome = act()
            restore()
            results.append((name, outcome, load.result))

        def deploy_fails(app="shop"):
            r = cli("deploy", app)
            return "refused" if r.returncode else "DEPLOYED"

        fault(
            "build error",
            lambda: (app_py.write_text("not python("), repo.commit("broken")),
            deploy_fails,
            lambda: (app_py.write_text(good_code), repo.commit("fixed")),
        )
        fault(
            "crash at start",
            lambda: repo.set_version("crash", CRASH),
            deploy_fails,
            lambda: repo.set_version("v1"),
        )
        fault(
            "/ping failing",
            lambda: (
                app_py.write_text(
                    good_code.replace(
                        'routes=[Route("/api/version", version)',
                        'routes=[Route("/ping", lambda r: JSONResponse("no", status_code=500)), '
                        'Route("/api/version", version)',
                    )
                ),
                repo.commit("no ping"),
            ),
            deploy_fails,
            lambda: (app_py.write_text(good_code), repo.commit("ping back")),
        )
        broken = Path(box.nginx_conf_dir) / "zz-broken.conf"
        fault(
            "nginx -t failing",
            lambda: (broken.write_text("server { nope; }\n"), repo.set_version("v2")),
            deploy_fails,
            broken.unlink,
        )

        def cut_upload():
            proxy.rate = 60_000
            proc = cli.popen("deploy", "shop")
            dep = wait_for(
                lambda: next(
                    (d["id"] for d in cli.json("deployments", "shop") if d["status"] == "running"),
                    None,
                ),
                timeout=120,
            )
            wait_for(lambda: "▶ upload frontend" in cli.ok("logs", str(dep)), timeout=180)
            time.sleep(1)
            proxy.cut()
            proxy.rate = 0
            proc.communicate(timeout=300)
            return "refused" if proc.returncode else "DEPLOYED"

        fault("SSH cut mid-upload", lambda: repo.set_version("v3"), cut_upload, lambda: None)

        def kill_midway():
            proc = cli.popen("deploy", "shop")
            dep = wait_for(
                lambda: next(
                    (d["id"] for d in cli.json("deployments", "shop") if d["status"] == "running"),
                    None,
                ),
                timeout=120,
            )
            wait_for(lambda: "▶ health gate" in cli.ok("logs", str(dep)), timeout=240)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            repo.set_version("v4")
            r = cli("deploy", "shop")  # the next process recovers the killed one first
            return "recovered" if r.returncode == 0 else "NOT RECOVERED"

        fault(
            "process killed mid-deploy",
            lambda: repo.set_version("v3-slow", SLOW),
            kill_midway,
            lambda: None,
        )

        ballast = small / "ballast"

        def fill():
            stat = os.statvfs(small)
            ballast.write_bytes(b"\0" * max(0, stat.f_bavail * stat.f_frsize - 400 * 1024))
            repo.set_version("v5")

        fault("disk full", fill, lambda: deploy_fails("tiny"), ballast.unlink, target=small_url)
    finally:
        proxy.close()
        sandbox.down(box.dir)
        subprocess.run(["umount", "-l", str(small)], check=False)
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nfailed requests at {args.rate:g} req/s on {', '.join(PATHS)} through each fault\n")
    for name, outcome, load in results:
        print(f"  {name:28} deploy {outcome:10} {load}")
    total = sum(r.failed for _, _, r in results)
    print(
        f"\ntarget: 0 failed requests through every fault: {'PASS' if total == 0 else 'MISS'} "
        f"({total} failed of {sum(r.sent for _, _, r in results)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
