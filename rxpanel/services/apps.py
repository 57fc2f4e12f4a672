"""Apps: what to deploy where. Env values are stored encrypted."""

from __future__ import annotations

import json
import secrets as pysecrets
from collections.abc import Iterable, Sequence

from sqlmodel import col, select

from rxpanel import db, envkinds, secrets, sshkeys, validate
from rxpanel.models import App, AppServer, Release, Server, utcnow
from rxpanel.services import Conflict, NotFound
from rxpanel.services import placements as places

# What the edges give, validated (services/app_input.py); kept here as `apps.` names.
from rxpanel.services.app_input import (  # noqa: F401
    CLI_SETTINGS,
    SETTINGS,
    STATE_CHANGE_MODES,
    STORE_MODES,
    AppInput,
    clean_env,
)

# Where apps run lives in services/placements.py; these are its public names, kept
# here so that callers (the deploy engine, edges) ask `apps.` for everything of an app.
from rxpanel.services.placements import (  # noqa: F401
    FIRST_BACKEND_PORT,
    Placement,
    placements,
    primary_server,
    set_port,
    spare_ports,
    targets,
)


def _normal(url: str) -> str:
    try:
        return validate.public_url(url)
    except validate.ValidationError:
        return url


def _server(s, name: str) -> Server:
    name = validate.slug(name, "server name")
    server = s.exec(select(Server).where(Server.name == name)).first()
    if server is None:
        raise NotFound(f"no server named {name!r}")
    return server


def add_server(name: str, server_name: str) -> AppServer:
    """Deploy the app to one more server too (from its next deploy on)."""
    with db.session() as s:
        app, server = _get(s, name), _server(s, server_name)
        if places.row(s, app.id, server.id) is not None:
            raise Conflict(f"{name} already deploys to {server_name}")
        places.check_url_free(s, app.url, except_app=app.id)
        return places.place(s, app.id, server.id)


def _removable(s, name: str, server_name: str) -> AppServer:
    app, server = _get(s, name), _server(s, server_name)
    found = places.row(s, app.id, server.id)
    if found is None:
        raise NotFound(f"{name} does not deploy to {server_name}")
    if found.primary:
        raise Conflict(f"{server_name} is {name}'s primary server; it cannot be removed")
    return found


def check_removable(name: str, server_name: str) -> None:
    """Refuses what remove_server would refuse: ask before touching the server."""
    with db.session() as s:
        _removable(s, name, server_name)


def remove_server(name: str, server_name: str) -> None:
    """Stop deploying the app to a further server. Not the primary: the app's
    migrations run there and its settings name it; `update` moves it instead."""
    with db.session() as s:
        s.delete(_removable(s, name, server_name))


def _move_primary(s, app: App, server: Server) -> None:
    """The app runs on `server` instead of its primary: a further server it already
    had becomes the primary, else it gets new ports there."""
    if app.current_release_id:
        raise Conflict("a deployed app cannot move to another server")
    s.delete(places.primary_row(s, app.id))
    s.flush()  # one primary per app, also in the middle of the move
    further = places.row(s, app.id, server.id)
    if further is None:
        places.place(s, app.id, server.id, primary=True)
    else:
        further.primary = True
        s.add(further)
        s.flush()


def add(data: AppInput, further: Sequence[str] = ()) -> App:
    """A new app on data.server (its primary) and, for a fleet, on the further
    servers too: all in one transaction, so a refused server adds nothing."""
    fields = data.cleaned()
    with db.session() as s:
        if s.exec(select(App).where(App.name == fields["name"])).first():
            raise Conflict(f"an app named {fields['name']!r} already exists")
        server = _server(s, data.server)
        more = [_server(s, n) for n in further]
        seen = {server.id}
        for extra in more:
            if extra.id in seen:
                raise Conflict(f"{fields['name']} already deploys to {extra.name}")
            seen.add(extra.id)
        data.check_consent(fields["url"])
        places.check_url_free(s, fields["url"])
        env = fields.pop("env")
        app = App(
            **fields,
            env_enc=secrets.encrypt(json.dumps(env)),
            webhook_secret_enc=secrets.encrypt(pysecrets.token_urlsafe(32)),
            deploy_key_enc=secrets.encrypt(sshkeys.new_deploy_key()),
        )
        s.add(app)
        s.flush()  # its id, for its placements
        places.place(s, app.id, server.id, primary=True)
        for extra in more:
            places.place(s, app.id, extra.id)
    return app


def update(name: str, data: AppInput, env: dict[str, str] | None = None) -> App:
    """Change settings; env replaces all values when given (None keeps them)."""
    fields = data.cleaned()
    fields.pop("env")
    with db.session() as s:
        app = _get(s, name)
        if fields["name"] != app.name:
            raise Conflict("an app cannot be renamed (its name is in paths on the server)")
        server = _server(s, data.server)
        if server.id != places.primary_row(s, app.id).server_id:
            _move_primary(s, app, server)
        if fields["url"] != _normal(app.url):  # a URL allowed before stays allowed
            data.check_consent(fields["url"])
        places.check_url_free(s, fields["url"], except_app=app.id)
        for key, value in fields.items():
            setattr(app, key, value)
        if env is not None:
            env = clean_env(env)
            app.env_enc = secrets.encrypt(json.dumps(env))
            app.build_env_keys = envkinds.remark(app.build_env_keys, env, (), ())
        s.add(app)
    return app


def set_env(
    name: str,
    changes: dict[str, str | None],
    build: Iterable[str] = (),
    runtime: Iterable[str] = (),
) -> App:
    """Set (value) or remove (None) env keys, keeping the others; mark keys
    build-time (`build`) or runtime (`runtime`, the default): see envkinds.py."""
    with db.session() as s:
        app = _get(s, name)
        env = env_of(app)
        for key, value in changes.items():
            if value is None:
                env.pop(key, None)
            else:
                env[validate.env_key(key)] = validate.env_value(key, value)
        app.env_enc = secrets.encrypt(json.dumps(env))
        app.build_env_keys = envkinds.remark(app.build_env_keys, env, build, runtime)
        s.add(app)
    return app


def build_keys_of(app: App) -> list[str]:
    """The app's build-time env keys: the marked ones and every REFLEX_* one."""
    return sorted(envkinds.build_env(env_of(app), envkinds.marked(app.build_env_keys)))


def env_of(app: App) -> dict[str, str]:
    return json.loads(secrets.decrypt(app.env_enc))


def delete(name: str) -> App:
    """Forget an app and everything recorded about it (one transaction).
    Refused while a deployment of it is queued or running."""
    from sqlmodel import delete as sql_delete

    from rxpanel.models import (
        Deployment,
        DeploymentLog,
        DeploymentStep,
        HealthCheck,
        HealthRollup,
        Incident,
        Notification,
        WebhookDelivery,
    )

    with db.session() as s:
        app = _get(s, name)
        deps = select(Deployment.id).where(Deployment.app_id == app.id)
        busy = s.exec(deps.where(col(Deployment.status).in_(("queued", "running")))).first()
        if busy is not None:
            raise Conflict(f"{name} has a deployment in progress (#{busy}); wait for it first")
        for model in (DeploymentLog, DeploymentStep):
            s.exec(sql_delete(model).where(col(model.deployment_id).in_(deps)))
        for model in (
            AppServer,
            Deployment,
            Release,
            HealthCheck,
            HealthRollup,
            Incident,
            Notification,
            WebhookDelivery,
        ):
            s.exec(sql_delete(model).where(model.app_id == app.id))
        s.delete(app)
    return app


def _get(s, name: str) -> App:
    name = validate.slug(name, "app name")  # a malformed name is refused, not looked up
    app = s.exec(select(App).where(App.name == name)).first()
    if app is None:
        raise NotFound(f"no app named {name!r}")
    return app


def get(name: str) -> App:
    with db.session() as s:
        return _get(s, name)


def get_by_id(app_id: int) -> App:
    with db.session() as s:
        app = s.get(App, app_id)
        if app is None:
            raise NotFound(f"no app with id {app_id}")
        return app


def list_all() -> list[App]:
    with db.session() as s:
        return list(s.exec(select(App).order_by(App.name)).all())


def set_live(app_id: int, release_id: str, color: str) -> None:
    """Record a switch: the release is live on that colour; the one before is good."""
    with db.session() as s:
        app = s.get(App, app_id)
        if app.current_release_id and app.current_release_id != release_id:
            old = s.get(Release, app.current_release_id)
            if old is not None and old.status == "live":
                old.status = "good"
                s.add(old)
        new = s.get(Release, release_id)
        new.status, new.live_at, new.reason = "live", utcnow(), None
        app.current_release_id, app.live_color = release_id, color
        s.add_all([new, app])


def public(app: App) -> dict:
    """What may be shown: env keys but never their values. "server" and the ports are
    the primary's; "servers" names every server, the primary first."""
    placed = places.placements(app.id)
    primary = placed[0]
    return {
        "name": app.name,
        "server": primary.server.name,
        "source": app.source,
        "branch": app.branch,
        "url": app.url,
        "env_keys": sorted(env_of(app)),
        "build_env_keys": build_keys_of(app),  # the others are runtime
        "keep_releases": app.keep_releases,
        "shared_paths": app.shared_paths,
        "allow_old_pushes": app.allow_old_pushes,
        "state_store": app.state_store,
        "drain_seconds": app.drain_seconds,
        "on_state_change": app.on_state_change,
        "on_new_release": app.on_new_release,
        "workers": app.workers,
        "health_path": app.health_path,
        "health_timeout": app.health_timeout,
        "standby_minutes": app.standby_minutes,
        "stop_drain": app.stop_drain,
        "port_blue": primary.ports["blue"],
        "port_green": primary.ports["green"],
        "live_color": app.live_color,
        "current_release": app.current_release_id,
        "check_interval": app.check_interval,
        "check_timeout": app.check_timeout,
        "failure_threshold": app.failure_threshold,
        "auto_rollback": app.auto_rollback,
        "watch_minutes": app.watch_minutes,
        "build_memory_mb": app.build_memory_mb,  # None: the panel's default
        "build_cpu_seconds": app.build_cpu_seconds,
        "build_timeout": app.build_timeout,
        "health_state": app.health_state,
        "servers": [p.server.name for p in placed],
    }
