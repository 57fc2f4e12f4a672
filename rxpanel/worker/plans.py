"""From the database to the engine's frozen plan: the app, its env, every server
with its key and pinned host key, the releases, and the release a rollback
brings back (chosen and checked here, before any server is touched)."""

from __future__ import annotations

from rxpanel import envkinds
from rxpanel.deploy.build import env_hash
from rxpanel.deploy.commands import AppLayout, Host
from rxpanel.deploy.journal import DeployFailed
from rxpanel.deploy.plan import AppSettings, Plan, ReleaseInfo, TargetPlan, lock_owner
from rxpanel.models import App, Deployment, Release, Server
from rxpanel.services import apps, deploy_keys, deployments, releases, servers, state_store


def host_of(server: Server) -> Host:
    return Host(**{name: getattr(server, name) for name in servers.FIELDS})


def layout_of(app: App, server: Server) -> AppLayout:
    return AppLayout(host_of(server), app.name)


def target_of(server: Server, ports: dict[str, int], primary: bool, spare=()) -> TargetPlan:
    return TargetPlan(
        server_id=server.id,
        name=server.name,
        host=server.host,
        port=server.port,
        user=server.user,
        private_key=servers.private_key(server),
        host_key=server.host_key,
        paths=host_of(server),
        ports=dict(ports),
        primary=primary,
        spare_ports=tuple(spare),
    )


def targets_of(app: App, with_spares: bool = False) -> list[TargetPlan]:
    return [
        target_of(server, ports, i == 0, apps.spare_ports(server.id) if with_spares else ())
        for i, (server, ports) in enumerate(apps.targets(app))
    ]


def release_info(r: Release) -> ReleaseInfo:
    return ReleaseInfo(
        id=r.id,
        commit=r.commit,
        status=r.status,
        req_hash=r.req_hash,
        build_key=r.build_key,
        live_at=r.live_at,
        removed_at=r.removed_at,
        schema_heads=r.schema_heads,
        database=r.database,
        env_hash=r.env_hash,
        state_schema=r.state_schema,
    )


def settings_of(app: App) -> AppSettings:
    return AppSettings(
        id=app.id,
        name=app.name,
        url=app.url,
        source=app.source,
        branch=app.branch,
        health_path=app.health_path,
        health_timeout=app.health_timeout,
        standby_minutes=app.standby_minutes,
        stop_drain=app.stop_drain,
        drain_seconds=app.drain_seconds,
        keep_releases=app.keep_releases,
        shared_paths=tuple(app.shared_paths.split()),
        live_color=app.live_color,
        current_release_id=app.current_release_id,
        build_memory_mb=app.build_memory_mb,
        build_cpu_seconds=app.build_cpu_seconds,
        build_timeout=app.build_timeout,
        deploy_key=deploy_keys.private(app),
        build_env_keys=envkinds.marked(app.build_env_keys),
        state_store=app.state_store,
        state_password=state_store.password(app) if app.state_store == "server" else "",
        on_state_change=app.on_state_change,
        on_new_release=app.on_new_release,
        workers=app.workers,
    )


def rollback_target(app: App, ref: str | None) -> Release:
    """The release a rollback brings back, or DeployFailed saying why there is none."""
    if not app.current_release_id:
        raise DeployFailed(f"{app.name} has never been deployed: nothing to roll back to")
    if ref:
        target = releases.get(ref, app.id)
        if target.id == app.current_release_id:
            raise DeployFailed(f"release {target.id} is already live")
        if target.removed_at is not None:
            raise DeployFailed(f"release {target.id} was removed from the server by retention")
        if target.status != "good":
            raise DeployFailed(
                f"release {target.id} is {target.status}: only a kept good release can come back"
            )
        return target
    target = releases.previous_good(app.id, app.current_release_id)
    if target is None:
        raise DeployFailed("there is no previous good release to roll back to")
    return target


def _reusable(app_id: int, env: dict[str, str]):
    """A kept release of the build, one with this very env first (it goes live as it is)."""

    def lookup(key: str) -> ReleaseInfo | None:
        found = releases.reusable(app_id, key, env_hash(env))
        return release_info(found) if found else None

    return lookup


def plan_of(dep: Deployment) -> Plan:
    app = apps.get_by_id(dep.app_id)
    back = rollback_target(app, dep.ref) if dep.kind == "rollback" else None
    env = apps.env_of(app)
    return Plan(
        deployment_id=dep.id,
        kind=dep.kind,
        owner=lock_owner(dep.id, dep.runner),
        app=settings_of(app),
        env=env,
        targets=tuple(targets_of(app, with_spares=True)),
        ref=dep.ref,
        rollback_to=release_info(back) if back else None,
        releases=tuple(release_info(r) for r in releases.for_app(app.id)),
        reusable=_reusable(app.id, env),
        finished=deployments.is_final,
    )
