"""Start the release on the idle colour everywhere, then the health gate
everywhere. Nothing is switched until every server passed."""

from __future__ import annotations

from rxpanel.deploy.commands import composite, other_color, release, standby
from rxpanel.deploy.commands import health as health_cmd
from rxpanel.deploy.commands import supervisor as supervisor_cmd
from rxpanel.deploy.fleet import Target
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.recipe import Run
from rxpanel.deploy.remote import CommandFailed
from rxpanel.deploy.steps import store
from rxpanel.deploy.templates.supervisor import MAX_DRAIN, render_program


def start(run: Run) -> None:
    rel, log = run.release, run.log
    if run.app.workers > 1 and not run.plan.shared_state:
        raise DeployFailed(
            f"{run.app.workers} backend workers need the state store (each tab's state is "
            "shared through it): turn it on (rxpanel app update APP --state-store server), "
            "or set --workers 1"
        )
    idle = run.color = other_color(run.app.live_color)

    def one(t: Target) -> None:
        warm = t.run(standby.read(t.layout), "reading the standby").stdout.strip()
        t.undo.append(supervisor_cmd.stop(t.layout, idle))  # what runs on idle is not serving
        if warm == f"{idle} {rel.id}":
            log.line(f"{t.tag}release {rel.id} is still warm on {idle}: no restart needed")
            t.undo.append(standby.clear(t.layout))
            return
        with log.step(f"start {idle}{t.suffix}"):
            _start(run, t, idle)

    run.each(one, "starting the release")


def _start(run: Run, t: Target, color: str) -> None:
    """Start the release on `color`; if a stranger holds its port, move the colour to
    a port free on that server (recorded for the app) and try once more."""
    layout, port, rel = t.layout, t.ports[color], run.release
    for attempt in range(2):
        program = render_program(
            app=run.app.name,
            program=layout.program(color),
            color=color,
            release=rel.id,
            release_dir=layout.release(rel.id),
            port=port,
            user=layout.unix_user,
            log=layout.program_log(color),
            drain=run.app.stop_drain,
        )
        conf_tmp = f"{layout.tmp}/{layout.program(color)}.conf"
        t.remote.put_bytes(program.encode(), conf_tmp)
        result = t.run(
            composite.start_fresh(layout, color, port, conf_tmp),
            f"starting {color}",
            on_line=lambda line: run.log.output(t.tag + line),
            timeout=120 + MAX_DRAIN,  # the idle colour is stopped first
            check=False,
        )
        if result.ok:
            t.ports[color] = port
            return
        if result.exit_code != supervisor_cmd.PORT_BUSY or attempt:
            failure = CommandFailed(
                f"starting {color}", result.exit_code, result.stdout + result.stderr
            )
            raise t.fail(str(failure))
        found = t.run(
            supervisor_cmd.first_free_port(list(t.plan.spare_ports)),
            "finding a free port",
            check=False,
        ).stdout.split()
        if not found:
            raise t.fail(f"port {port} is taken on the server and no spare port is free")
        run.log.line(
            f"{t.tag}port {port} is taken by another process on the server: "
            f"{color} moves to port {found[0]}"
        )
        port = int(found[0])
        run.journal.port_moved(t.plan.server_id, color, port)


def gate(run: Run) -> None:
    rel, log, idle, app = run.release, run.log, run.color, run.app

    def one(t: Target) -> None:
        with log.step(f"health gate{t.suffix}"):
            port = t.ports[idle]
            check = health_cmd.gate(t.layout, idle, port, app.health_path, app.health_timeout)
            if store.applies(run):  # the state store's health is part of the gate
                check = f"{check} && {store.gate_line(run, t)}"
            result = t.run(
                check,
                "health gate",
                check=False,
                timeout=app.health_timeout + 60,
            )
            if not result.ok:
                tail = t.run(release.tail_log(t.layout, idle), "reading the app log").stdout
                for line in tail.splitlines():
                    log.output(f"{t.tag}[{idle}] {line}")
                reason = (result.stdout.strip().splitlines() or ["no answer"])[-1]
                raise t.fail(f"release {rel.id} failed the health gate on port {port}: {reason}")
            log.line(t.tag + result.stdout.strip())

    try:
        run.each(one, "the health gate")
    except DeployFailed as e:
        run.journal.release_status(rel.id, "bad", str(e))
        raise
