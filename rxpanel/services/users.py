"""Users and their sessions. Passwords are hashed with argon2; a session token
lives in the browser and only its SHA-256 is stored, with an expiry."""

from __future__ import annotations

import hashlib
import re
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, func, select

from rxpanel import db
from rxpanel.models import ROLES, ApiToken, User, UserSession, utcnow
from rxpanel.services import Conflict, NotFound, ServiceError
from rxpanel.validate import ValidationError

SESSION_TTL = timedelta(hours=12)
USERNAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{1,63}")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("timing equaliser: verify something when the user is unknown")


def clean_username(value: str) -> str:
    value = (value or "").strip().lower()
    if not USERNAME.fullmatch(value):
        raise ValidationError(
            "user name: 2-64 of a-z 0-9 . _ @ + -, starting with a letter or digit"
        )
    return value


def check_password(value: str) -> str:
    if not 8 <= len(value or "") <= 256:
        raise ValidationError("password: at least 8 characters (at most 256)")
    return value


def check_role(value: str) -> str:
    if value not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    return value


def count() -> int:
    with db.session() as s:
        return s.exec(select(func.count()).select_from(User)).one()


def admin_exists() -> bool:
    """Any admin, enabled or not: once one exists, the first-run setup is over."""
    with db.session() as s:
        return s.exec(select(User.id).where(User.role == "admin").limit(1)).first() is not None


def create(username: str, password: str, role: str = "viewer") -> User:
    username, role = clean_username(username), check_role(role)
    hashed = _hasher.hash(check_password(password))
    with db.session() as s:
        if s.exec(select(User).where(User.username == username)).first():
            raise Conflict(f"a user named {username!r} already exists")
        user = User(username=username, password_hash=hashed, role=role)
        s.add(user)
    return user


def setup_first_admin(username: str, password: str) -> User:
    """Only while no admin exists (first run); checked inside the write transaction.
    The edges check the setup token first (services.setup)."""
    username = clean_username(username)
    hashed = _hasher.hash(check_password(password))
    with db.session() as s:
        if s.exec(select(User.id).where(User.role == "admin").limit(1)).first() is not None:
            raise Conflict("setup is already done: log in instead")
        if s.exec(select(User).where(User.username == username)).first():
            raise Conflict(f"a user named {username!r} already exists")
        user = User(username=username, password_hash=hashed, role="admin")
        s.add(user)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user if the password matches and the account is enabled."""
    try:
        username = clean_username(username)
    except ValidationError:
        username = ""
    with db.session() as s:
        user = s.exec(select(User).where(User.username == username)).first()
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled:
        return None
    with db.session() as s:
        fresh = s.get(User, user.id)
        fresh.last_login_at = utcnow()
        if _hasher.check_needs_rehash(fresh.password_hash):
            fresh.password_hash = _hasher.hash(password)
        s.add(fresh)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user_id: int, address: str = "") -> str:
    token = pysecrets.token_urlsafe(32)
    with db.session() as s:
        s.add(
            UserSession(
                token_hash=_digest(token),
                user_id=user_id,
                address=address[:64],
                expires_at=utcnow() + SESSION_TTL,
            )
        )
    return token


def user_for_token(token: str) -> User | None:
    """The logged-in user, or None (unknown, expired, or disabled); slides the expiry."""
    if not token:
        return None
    now = utcnow()
    with db.session() as s:
        session = s.exec(
            select(UserSession).where(UserSession.token_hash == _digest(token))
        ).first()
        if session is None:
            return None
        if session.expires_at <= now:
            s.delete(session)
            return None
        user = s.get(User, session.user_id)
        if user is None or user.disabled:
            return None
        if session.expires_at - now < SESSION_TTL - timedelta(minutes=5):
            session.expires_at = now + SESSION_TTL
            s.add(session)
        return user


def session_alive(token: str) -> bool:
    """Is this session still valid (not ended, expired, revoked or disabled)? Does
    not slide the expiry: an open page that only watches keeps no session alive."""
    if not token:
        return False
    with db.session() as s:
        session = s.exec(
            select(UserSession).where(UserSession.token_hash == _digest(token))
        ).first()
        if session is None or session.expires_at <= utcnow():
            return False
        user = s.get(User, session.user_id)
        return user is not None and not user.disabled


def end_session(token: str) -> None:
    with db.session() as s:
        session = s.exec(
            select(UserSession).where(UserSession.token_hash == _digest(token))
        ).first()
        if session is not None:
            s.delete(session)


def get(username: str) -> User:
    with db.session() as s:
        user = s.exec(select(User).where(User.username == clean_username(username))).first()
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def list_all() -> list[User]:
    with db.session() as s:
        return list(s.exec(select(User).order_by(User.username)).all())


def require_role(user: User | None, role: str) -> User:
    """admin > deployer > viewer."""
    if user is None:
        raise ServiceError("log in first")
    if ROLES.index(user.role) > ROLES.index(role):
        raise ServiceError(f"your role ({user.role}) may not do this; it needs {role}")
    return user


# -- managing users: a new password or a disabled account ends every session and
# revokes every API token of that user, in the same transaction ----------------


def _revoke_everything(s, user_id: int) -> None:
    for session in s.exec(select(UserSession).where(UserSession.user_id == user_id)):
        s.delete(session)
    now = utcnow()
    for token in s.exec(
        select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
    ):
        token.revoked_at = now
        s.add(token)


def set_password(user_id: int, current: str, new: str) -> None:
    user = _by_id(user_id)
    try:
        _hasher.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise ServiceError("the current password is wrong") from None
    _store(user_id, revoke=True, password_hash=_hasher.hash(check_password(new)))


def admin_update(
    user_id: int,
    *,
    role: str | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> User:
    """An admin changes a user; the last enabled admin cannot be demoted or disabled."""
    user = _by_id(user_id)
    if user.role == "admin" and ((role and role != "admin") or disabled):
        with db.session() as s:
            admins = s.exec(
                select(func.count())
                .select_from(User)
                .where(User.role == "admin", col(User.disabled).is_(False), User.id != user_id)
            ).one()
        if not admins:
            raise ServiceError("this is the last admin: make another admin first")
    changes = {}
    if role is not None:
        changes["role"] = check_role(role)
    if disabled is not None:
        changes["disabled"] = bool(disabled)
    if password:
        changes["password_hash"] = _hasher.hash(check_password(password))
    return _store(user_id, revoke=bool(disabled or password), **changes)


def _by_id(user_id: int) -> User:
    with db.session() as s:
        user = s.get(User, user_id)
    if user is None:
        raise NotFound(f"no user #{user_id}")
    return user


def _store(user_id: int, revoke: bool = False, **changes) -> User:
    with db.session() as s:
        user = s.get(User, user_id)
        for key, value in changes.items():
            setattr(user, key, value)
        s.add(user)
        if revoke:
            _revoke_everything(s, user_id)
    return user


@dataclass(frozen=True)
class Record:
    """A user as the team page shows them: never a password hash."""

    id: int
    name: str
    role: str
    disabled: bool
    created: datetime
    last_login: datetime | None


def records() -> list[Record]:
    return [
        Record(u.id, u.username, u.role, u.disabled, u.created_at, u.last_login_at)
        for u in list_all()
    ]
