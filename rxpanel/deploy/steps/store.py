"""The app's state store on every server, before a colour starts: blue and green
keep their users' state in one Redis (commands/store.py), so a tab that moves to the
new colour (or reloads) finds its state there. Its health is part of the gate too."""

from __future__ import annotations

import hashlib

from rxpanel.deploy.commands import store
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.templates.store import render_conf, render_program


def applies(run: Run) -> bool:
    return run.plan.managed_store


def env(run: Run, t: Target) -> dict[str, str]:
    """REFLEX_REDIS_URL for the release's env file (none when the store is off or the
    operator's own REFLEX_REDIS_URL is in the app's env), and the app's worker count:
    with a Redis, Reflex would start 2 x CPUs + 1 backend workers of its own accord."""
    workers = {"GRANIAN_WORKERS": str(run.app.workers)} if run.plan.shared_state else {}
    if not run.plan.managed_store:
        return workers
    return {"REFLEX_REDIS_URL": store.url(t.layout, run.app.state_password), **workers}


def ensure(run: Run) -> None:
    def one(t: Target) -> None:
        layout = t.layout
        if len(layout.store_socket.encode()) > store.SOCKET_MAX:
            raise t.fail(
                f"the state store's socket path {layout.store_socket} is too long for a Unix "
                "socket: choose a shorter deploy root, or turn the state store off"
            )
        with run.log.step(f"state store{t.suffix}"):
            found = t.run(store.locate(), "finding redis-server", check=False)
            if found.exit_code == store.MISSING:
                raise t.fail(store.NOT_INSTALLED)
            server = (found.stdout.strip().splitlines() or ["/usr/bin/redis-server"])[-1]
            conf_tmp = f"{layout.tmp}/redis.conf"
            program_tmp = f"{layout.tmp}/{layout.store_program}.conf"
            conf = render_conf(
                app=run.app.name,
                socket=layout.store_socket,
                dir=layout.store_dir,
                password=run.app.state_password,
            )
            program = render_program(
                app=run.app.name,
                program=layout.store_program,
                server=server,
                conf=layout.store_conf,
                dir=layout.store_dir,
                user=layout.unix_user,
                log=f"{layout.logs}/redis.log",
            )
            if t.run(
                store.current(layout, _sha(conf), _sha(program)),
                "checking the state store",
                check=False,
            ).ok:
                run.log.line(f"{t.tag}state store: unchanged, answers on {layout.store_socket}")
                return
            t.put_bytes(conf.encode(), conf_tmp, 0o600)
            t.put_bytes(program.encode(), program_tmp)
            t.run(
                store.ensure(layout, conf_tmp, program_tmp), "starting the state store", timeout=60
            )
            run.log.line(
                f"{t.tag}state store: Redis for {run.app.name} answers on {layout.store_socket}"
            )

    run.each(one, "the state store")


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def gate_line(run: Run, t: Target) -> str:
    """Appended to the health gate: the store must answer as well."""
    said = "the state store (Redis) does not answer: see logs/redis.log on the server"
    return f"{{ {store.ping(t.layout)} || {{ echo {store.q(said)}; exit 1; }}; }}"
