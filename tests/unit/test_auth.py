"""Users, sessions and the server-side guard on every event handler."""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import pytest

from rxpanel import db
from rxpanel.models import UserSession, utcnow
from rxpanel.services import Conflict, users
from rxpanel.validate import ValidationError


def test_first_admin_only_once(home):
    admin = users.setup_first_admin("Alice", "correct horse")
    assert (admin.username, admin.role) == ("alice", "admin")
    with pytest.raises(Conflict, match="already done"):
        users.setup_first_admin("mallory", "another password")
    assert users.count() == 1


def test_passwords_are_hashed_and_checked(home):
    users.create("bob", "s3cret-password", "deployer")
    raw = (home / "rxpanel.db").read_bytes()
    assert b"s3cret-password" not in raw
    assert users.authenticate("bob", "s3cret-password").username == "bob"
    assert users.authenticate("BOB", "s3cret-password") is not None
    assert users.authenticate("bob", "wrong") is None
    assert users.authenticate("nobody", "s3cret-password") is None
    assert users.authenticate("x;drop", "s3cret-password") is None


@pytest.mark.parametrize("name", ["a", "-x", "with space", "x" * 70, "semi;colon"])
def test_bad_user_names_are_refused(home, name):
    with pytest.raises(ValidationError):
        users.create(name, "long enough password")


def test_short_passwords_are_refused(home):
    with pytest.raises(ValidationError, match="at least 8"):
        users.create("carol", "short")


def test_sessions_store_only_a_hash_and_expire(home):
    user = users.create("dave", "password-123", "viewer")
    token = users.start_session(user.id, "127.0.0.1")
    assert token.encode() not in (home / "rxpanel.db").read_bytes()
    assert users.user_for_token(token).username == "dave"
    assert users.user_for_token(token + "x") is None
    assert users.user_for_token("") is None
    with db.session() as s:
        row = s.exec(users.select(UserSession)).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        s.add(row)
    assert users.user_for_token(token) is None
    users.end_session(token)


def test_logout_ends_the_session(home):
    user = users.create("erin", "password-123", "viewer")
    token = users.start_session(user.id)
    users.end_session(token)
    assert users.user_for_token(token) is None


def test_a_disabled_user_is_refused(home):
    user = users.create("frank", "password-123", "admin")
    token = users.start_session(user.id)
    with db.session() as s:
        row = s.get(type(user), user.id)
        row.disabled = True
        s.add(row)
    assert users.user_for_token(token) is None
    assert users.authenticate("frank", "password-123") is None


# -- the guard ---------------------------------------------------------------


class FakeState:
    """What `authorized` reads from a state: the cookie and whether the page
    believed it was signed in."""

    def __init__(self, token: str = "", signed_in: bool = False):
        self.session_token, self.signed_in = token, signed_in
        self.router = SimpleNamespace(
            url=SimpleNamespace(path="/apps/x"), session=SimpleNamespace(client_ip="127.0.0.1")
        )


def _guarded(role: str):
    from rxpanel.state.auth import authorized, current_user

    @authorized(role)
    def plain(self, x):
        return ("ran", current_user().username, x)

    @authorized(role)
    async def coro(self, x):
        return ("ran", current_user().username, x)

    @authorized(role)
    def gen(self, x):
        yield ("ran", current_user().username, x)

    @authorized(role)
    async def agen(self, x):
        yield ("ran", current_user().username, x)

    return plain, coro, gen, agen


def _in_own_loop(coro):
    """asyncio.run in a thread of its own: the main thread may already run a loop
    (Playwright's, when the browser tests share the session)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _call(fn, state, arg):
    if asyncio.iscoroutinefunction(fn):
        return _in_own_loop(fn(state, arg))
    if hasattr(fn, "__code__") and fn.__code__.co_flags & 0x200:  # async generator

        async def collect():
            return [item async for item in fn(state, arg)]

        return _in_own_loop(collect())[0]
    out = fn(state, arg)
    return next(out) if hasattr(out, "__next__") else out


@pytest.mark.parametrize("shape", range(4), ids=["plain", "async", "generator", "async generator"])
def test_authorized_runs_for_enough_role_and_refuses_others(home, shape):
    admin = users.create("root-user", "password-123", "admin")
    viewer = users.create("watcher", "password-123", "viewer")
    fn = _guarded("deployer")[shape]
    assert _call(fn, FakeState(users.start_session(admin.id)), 1) == ("ran", "root-user", 1)
    refused = _call(fn, FakeState(users.start_session(viewer.id)), 2)
    assert refused != ("ran", "watcher", 2)
    assert "needs deployer" in str(refused)
    from rxpanel.services import audit

    (event,) = audit.query(actor="watcher")
    assert (event.outcome, event.target, event.address) == ("refused", "/apps/x", "127.0.0.1")
    anonymous = _call(fn, FakeState(""), 3)
    assert not (isinstance(anonymous, tuple) and anonymous[0] == "ran")


def test_every_event_handler_is_guarded_or_public(home):
    """Data is checked on the server in every handler, not only on page load."""
    import reflex as rx

    import rxpanel.state

    for info in pkgutil.iter_modules(rxpanel.state.__path__):
        importlib.import_module(f"rxpanel.state.{info.name}")
    # a mixin (state.live.LiveState) is no state of its own: its handlers are
    # copied onto each state that mixes it in, and checked there
    ours = [
        cls
        for cls in _subclasses(rx.State)
        if cls.__module__.startswith("rxpanel.") and not cls._mixin
    ]
    assert len(ours) >= 5
    unguarded = []
    for cls in ours:
        for name, handler in cls.event_handlers.items():
            if name == "setvar":
                # Reflex's own, on every state: it can set only client-visible vars,
                # and no handler trusts those for access (roles come from the
                # server-side session; ids are re-validated by the services).
                continue
            if not hasattr(handler.fn, "required_role"):
                unguarded.append(f"{cls.__name__}.{name}")
    assert unguarded == []


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
