"""API tokens: shown once when issued, stored as a hash, with a scope and an
optional expiry, revocable. A token never gives more than its user's role."""

from __future__ import annotations

import hashlib
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from rxpanel import db, validate
from rxpanel.models import ROLES, ApiToken, User, utcnow
from rxpanel.services import NotFound, ServiceError, users

SCOPES = {"read": "viewer", "deploy": "deployer", "admin": "admin"}
PREFIX = "rxp_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    user: User, name: str, scope: str = "read", expires_days: int | None = None
) -> tuple[ApiToken, str]:
    """The token row and the token itself (the only time it is seen)."""
    if scope not in SCOPES:
        raise validate.ValidationError(f"scope must be one of {', '.join(SCOPES)}")
    if ROLES.index(SCOPES[scope]) < ROLES.index(user.role):
        raise ServiceError(f"a {user.role} cannot issue a token with the {scope} scope")
    name = (name or "").strip()
    if not 1 <= len(name) <= 60 or any(ord(c) < 32 for c in name):
        raise validate.ValidationError("token name: 1-60 characters, no control characters")
    expires = None
    if expires_days is not None:
        expires = utcnow() + timedelta(days=validate.positive(expires_days, "expiry days", 1, 3650))
    plain = PREFIX + pysecrets.token_urlsafe(32)
    with db.session() as s:
        token = ApiToken(
            user_id=user.id,
            name=name,
            prefix=plain[:10],
            token_hash=_digest(plain),
            scope=scope,
            expires_at=expires,
        )
        s.add(token)
    return token, plain


def authenticate(plain: str) -> tuple[User, str] | None:
    """(user, effective role) for a valid token, or None."""
    if not plain or not plain.startswith(PREFIX) or len(plain) > 100:
        return None
    now = utcnow()
    with db.session() as s:
        token = s.exec(select(ApiToken).where(ApiToken.token_hash == _digest(plain))).first()
        if token is None or token.revoked_at or (token.expires_at and token.expires_at <= now):
            return None
        user = s.get(User, token.user_id)
        if user is None or user.disabled:
            return None
        if not token.last_used_at or now - token.last_used_at > timedelta(minutes=1):
            token.last_used_at = now
            s.add(token)
        role = max(user.role, SCOPES[token.scope], key=ROLES.index)  # the lesser of the two
        return user, role


def for_user(user_id: int | None = None) -> list[ApiToken]:
    """A user's tokens (all users' for None), newest first."""
    with db.session() as s:
        q = select(ApiToken)
        if user_id is not None:
            q = q.where(ApiToken.user_id == user_id)
        return list(s.exec(q.order_by(col(ApiToken.id).desc())).all())


def revoke(token_id: int, by: User) -> ApiToken:
    with db.session() as s:
        token = s.get(ApiToken, token_id)
        if token is None or (token.user_id != by.id and by.role != "admin"):
            raise NotFound(f"no token #{token_id} of yours")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            s.add(token)
        return token


@dataclass(frozen=True)
class Record:
    """An API token: its prefix, never the token or its hash."""

    id: int
    owner: str
    name: str
    prefix: str
    scope: str
    created: datetime
    expires: datetime | None
    last_used: datetime | None
    revoked: datetime | None
    state: str  # active | expired | revoked


def records(user_id: int | None = None) -> list[Record]:
    """A user's tokens (everyone's for None), newest first."""
    names = {u.id: u.username for u in users.list_all()}
    now = utcnow()
    out = []
    for t in for_user(user_id):
        if t.revoked_at:
            state = "revoked"
        elif t.expires_at and t.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        out.append(
            Record(
                t.id,
                names.get(t.user_id, "?"),
                t.name,
                t.prefix,
                t.scope,
                t.created_at,
                t.expires_at,
                t.last_used_at,
                t.revoked_at,
                state,
            )
        )
    return out
