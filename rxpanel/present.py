"""The one presentation module: typed records from the services, formatted as the
string dicts the dashboard's tables and the CLI's tables show (times, durations,
"yes"/"no"), and as JSON values for the HTTP API (ints, bools, ISO-8601, null)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from rxpanel.services import (
    app_records,
    audit,
    deployments,
    health,
    hooks,
    releases,
    servers,
    tokens,
    users,
)
from rxpanel.services.overview import age


def when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else ""


def clock(at: datetime | None) -> str:
    return at.strftime("%H:%M:%S") if at else ""


def yes(flag: bool) -> str:
    return "yes" if flag else ""


def as_json(record: Any) -> Any:
    """A record (or a list of them) as JSON values: datetimes in ISO-8601."""
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return {f.name: as_json(getattr(record, f.name)) for f in dataclasses.fields(record)}
    if isinstance(record, list | tuple):
        return [as_json(r) for r in record]
    if isinstance(record, dict):
        return {k: as_json(v) for k, v in record.items()}
    if isinstance(record, datetime):
        return record.isoformat(timespec="seconds")
    return record


# -- deployments -------------------------------------------------------------------


def deployment_json(dep: deployments.Record) -> dict:
    duration = dep.duration
    return {**as_json(dep), "duration": None if duration is None else round(duration, 3)}


def deployment_row(dep: deployments.Record) -> dict[str, str]:
    duration = dep.duration
    return {
        "id": str(dep.id),
        "kind": dep.kind,
        "status": dep.status,
        "trigger": dep.trigger,
        "by": dep.by,
        "ref": dep.ref or "",
        "commit": (dep.commit or "")[:12],
        "release": dep.release or "",
        "created": when(dep.created),
        "age": age(dep.created),
        "duration": "" if duration is None else f"{duration:.1f} s",
        "reason": dep.reason or "",
    }


def deployment_detail(dep: deployments.Record) -> dict[str, str]:
    return {
        **deployment_row(dep),
        "app": dep.app,
        "started": when(dep.started),
        "finished": when(dep.finished),
    }


def step_row(step: deployments.Step) -> dict[str, str]:
    duration = "…" if step.duration is None else f"{step.duration:.2f} s"
    return {"name": step.name, "status": step.status, "duration": duration}


def log_row(line: deployments.LogLine) -> dict[str, str]:
    return {
        "id": str(line.id),
        "time": clock(line.created_at),
        "level": line.level,
        "step": line.step,
        "line": line.line,
    }


# -- apps and their releases ---------------------------------------------------------


def release_row(rel: releases.Record) -> dict[str, str]:
    return {
        "id": rel.id,
        "status": rel.status,
        "commit": rel.commit[:12],
        "created": when(rel.created),
        "live_at": when(rel.live_at),
        "reason": rel.reason or "",
        "current": yes(rel.current),
        "can_rollback": yes(rel.can_rollback),
        "schema_note": rel.schema_note,  # what rolling back to it means for the schema
    }


def app_detail(app: app_records.Detail) -> dict[str, str]:
    return {
        "name": app.name,
        "url": app.url,
        "server": app.server,
        "source": app.source,
        "branch": app.branch,
        "status": app.status,
        "health": app.health,
        "release": app.release or "",
        "commit": (app.commit or "")[:12],
        "color": app.color or "",
        "port_blue": str(app.port_blue),
        "port_green": str(app.port_green),
        "standby_minutes": f"{app.standby_minutes:g}",
        "keep": str(app.keep),
        "deploy_key": app.deploy_key,
    }


def app_row(app: app_records.Row) -> dict[str, str]:
    return {
        "name": app.name,
        "server": ", ".join(app.servers),  # every server of a fleet, the primary first
        "source": app.source,
        "branch": app.branch,
        "url": app.url,
        "release": app.release or "",
        "env_count": str(app.env_count),
    }


def form(data: dict) -> dict[str, str]:
    """Stored settings as an edit form's strings (None as empty)."""
    return {k: str(v if v is not None else "") for k, v in data.items()}


# -- servers -----------------------------------------------------------------------


def server_row(server: servers.Record) -> dict[str, str]:
    row = form(dataclasses.asdict(server))
    row["sudo"] = "yes" if server.sudo else "no"
    row["host_key"] = row["host_key"] or "not connected yet"
    return row


def server_form(public: dict) -> dict[str, str]:
    """A server's stored fields for its edit form: never the key."""
    data = {k: str(v) for k, v in public.items() if k != "host_key"}
    data["sudo"] = "on" if public["sudo"] else ""
    return data


# -- health and webhooks -------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}%"


def health_summary(h: health.Summary) -> dict[str, str]:
    result = ""
    if h.last_at is not None:
        result = f"{h.last_status or '-'} · {h.last_latency_ms or '-'} ms" + (
            f" · {h.last_error}" if h.last_error else ""
        )
    return {
        "state": h.state,
        "uptime_24h": _pct(h.uptime_24h),
        "uptime_7d": _pct(h.uptime_7d),
        "last": when(h.last_at) if h.last_at else "never",
        "last_result": result,
        "every": f"every {h.check_interval} s, {h.failure_threshold} failures = down",
        "auto_rollback": (
            f"auto-rollback within {h.watch_minutes:g} min of a deploy"
            if h.auto_rollback
            else "auto-rollback off"
        ),
        "hook": h.hook,
    }


def incident_row(i: health.IncidentRecord) -> dict[str, str]:
    return {
        "state": i.state,
        "cause": i.cause,
        "started": when(i.started),
        "ended": when(i.ended) if i.ended else "ongoing",
        "rolled_back": "rolled back" if i.rolled_back else "",
    }


def delivery_row(d: hooks.DeliveryRecord) -> dict[str, str]:
    return {
        "id": str(d.id),
        "at": when(d.at),
        "provider": d.provider or "?",
        "event": d.event,
        "ref": d.ref.removeprefix("refs/heads/"),
        "commit": d.commit[:12],
        "outcome": d.outcome,
        "status": str(d.status),
        "detail": d.detail,
        "deployment": str(d.deployment or ""),
    }


# -- the team ------------------------------------------------------------------------


def user_row(u: users.Record) -> dict[str, str]:
    return {
        "id": str(u.id),
        "name": u.name,
        "role": u.role,
        "status": "disabled" if u.disabled else "enabled",
        "created": when(u.created),
        "last_login": when(u.last_login) or "never",
    }


def token_row(t: tokens.Record) -> dict[str, str]:
    return {
        "id": str(t.id),
        "owner": t.owner,
        "name": t.name,
        "prefix": t.prefix,
        "scope": t.scope,
        "created": when(t.created),
        "expires": when(t.expires) or "never",
        "last_used": when(t.last_used) or "never",
        "revoked": when(t.revoked),
        "state": t.state,
    }


def audit_row(e: audit.Record) -> dict[str, str]:
    return {
        "id": str(e.id),
        "at": when(e.at),
        "actor": e.actor,
        "action": e.action,
        "target": e.target,
        "outcome": e.outcome,
        "address": e.address,
        "detail": e.detail,
    }
