"""Who is logged in, checked on the server in every event handler that reads or
changes data (the `authorized` decorator), not only when a page loads.

The browser holds a random session token in a cookie; the server keeps its
hash with an expiry (services.users). Nothing else secret reaches the client."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect

import reflex as rx

from rxpanel import actions, clientaddr
from rxpanel.actions import Actor
from rxpanel.models import ROLES, User
from rxpanel.services import ServiceError, logins, users
from rxpanel.services import setup as first_run
from rxpanel.validate import ValidationError

_current: contextvars.ContextVar[User | None] = contextvars.ContextVar("rxpanel_user", default=None)
_address: contextvars.ContextVar[str] = contextvars.ContextVar("rxpanel_address", default="")
SESSION_COOKIE = "rxpanel_session"


def current_user() -> User:
    """The user the running handler was authorized for."""
    user = _current.get()
    if user is None:
        raise RuntimeError("current_user() outside an authorized handler")
    return user


def current_actor() -> Actor:
    """The current user as the use cases and the audit log know them."""
    user = current_user()
    return Actor.user(user.username, user.role, _address.get())


def record(action: str, target: str = "", outcome: str = "ok", detail: str = "") -> None:
    """Put what the current user just did in the audit log."""
    actions.record(current_actor(), action, target, outcome=outcome, detail=detail)


def client_address(state) -> str:
    """The browser's address: the socket's peer, or what a trusted proxy says."""
    return clientaddr.of_router(state.router)


def authorized(role: str = "viewer"):
    """Run the handler only for a logged-in user of at least `role`.

    Works for plain, async, generator and background handlers; marks the
    function so a test can check that every data handler carries it."""
    assert role in ROLES

    def check(state: AuthState, action: str):
        """(user, None) when allowed; (None, what to tell the browser) when refused."""
        user = users.user_for_token(state.session_token)
        if user is None:
            # a visitor who never logged in already sees the login form: say nothing
            return None, AuthState.session_ended if state.signed_in else rx.noop()
        if ROLES.index(user.role) > ROLES.index(role):
            actions.record(
                Actor.user(user.username, user.role, client_address(state)),
                action,
                state.router.url.path,
                outcome="refused",
                detail=f"needs {role}",
            )
            return None, rx.toast.error(
                f"Your role ({user.role}) may not do this: it needs {role}."
            )
        return user, None

    @contextlib.contextmanager
    def acting(user: User, state: AuthState):
        tokens = _current.set(user), _address.set(client_address(state))
        try:
            yield
        finally:
            _current.reset(tokens[0])
            _address.reset(tokens[1])

    def decorate(fn):
        action = f"ui.{fn.__name__}"
        if inspect.isasyncgenfunction(fn):

            async def wrapper(self, *args, **kwargs):
                user, denied = check(self, action)
                if denied is not None:
                    yield denied
                    return
                with acting(user, self):
                    async for item in fn(self, *args, **kwargs):
                        yield item

        elif inspect.iscoroutinefunction(fn):

            async def wrapper(self, *args, **kwargs):
                user, denied = check(self, action)
                if denied is not None:
                    return denied
                with acting(user, self):
                    return await fn(self, *args, **kwargs)

        elif inspect.isgeneratorfunction(fn):

            def wrapper(self, *args, **kwargs):
                user, denied = check(self, action)
                if denied is not None:
                    yield denied
                    return
                with acting(user, self):
                    yield from fn(self, *args, **kwargs)

        else:

            def wrapper(self, *args, **kwargs):
                user, denied = check(self, action)
                if denied is not None:
                    return denied
                with acting(user, self):
                    return fn(self, *args, **kwargs)

        functools.update_wrapper(wrapper, fn)
        wrapper.required_role = role
        return wrapper

    return decorate


def public(fn):
    """Mark a handler that needs no login (login form, setup, theme toggles)."""
    fn.required_role = None
    return fn


class AuthState(rx.State):
    session_token: str = rx.Cookie("", name=SESSION_COOKIE, same_site="strict", max_age=12 * 3600)
    signed_in: bool = False
    needs_setup: bool = False
    checked: bool = False
    username: str = ""
    role: str = ""
    auth_error: str = ""

    @rx.var
    def can_deploy(self) -> bool:
        return self.role in ("admin", "deployer")

    @rx.var
    def is_admin(self) -> bool:
        return self.role == "admin"

    @rx.event
    @public
    def check_session(self):
        """on_load of every page: decide between the page, the login form and setup."""
        user = users.user_for_token(self.session_token)
        self.needs_setup = user is None and not users.admin_exists()
        self._show(user)
        self.checked = True

    def _show(self, user: User | None) -> None:
        self.signed_in = user is not None
        self.username = user.username if user else ""
        self.role = user.role if user else ""

    @rx.event
    @public
    def session_ended(self):
        self._show(None)
        self.session_token = ""
        return rx.toast.warning("Your session has ended: log in again.")

    @rx.event
    @public
    async def login(self, form: dict):
        """argon2 and the audit rows run in a worker thread, not on the event loop."""
        address = client_address(self)
        try:
            user = await asyncio.to_thread(
                logins.login, form.get("username", ""), form.get("password", ""), address
            )
        except logins.LoginRefused as e:
            self.auth_error = str(e).capitalize() + "."
            return
        return await self._signed_in_as(user, address)

    @rx.event
    @public
    async def setup(self, form: dict):
        """First run: create the first admin, only with the setup token (refused
        once an admin exists)."""
        if form.get("password") != form.get("confirm"):
            self.auth_error = "The two passwords differ."
            return
        address = client_address(self)
        try:
            user = await asyncio.to_thread(
                first_run.first_admin,
                form.get("setup_token", ""),
                form.get("username", ""),
                form.get("password", ""),
            )
        except first_run.SetupRefused as e:
            self.auth_error = str(e)
            await asyncio.to_thread(
                actions.record,
                Actor.user("anonymous", "", address),
                "setup",
                "first admin",
                outcome="refused",
                detail="no setup token" if not form.get("setup_token") else "wrong setup token",
            )
            return
        except (ServiceError, ValidationError) as e:
            self.auth_error = str(e)
            self.needs_setup = not await asyncio.to_thread(users.admin_exists)
            return
        self.needs_setup = False
        await asyncio.to_thread(
            actions.record,
            Actor.user(user.username, user.role, address),
            "setup",
            f"user:{user.username}",
            detail="the first admin",
        )
        return await self._signed_in_as(user, address)

    async def _signed_in_as(self, user: User, address: str):
        self.session_token = await asyncio.to_thread(users.start_session, user.id, address)
        self.auth_error = ""
        self._show(user)
        # reload the page the user asked for, now with its data
        url = self.router.url
        return rx.redirect(url.path + (f"?{url.query}" if url.query else "") or "/")

    @rx.event
    @public
    async def logout(self):
        token, address = self.session_token, client_address(self)
        self.session_token = ""
        self._show(None)
        if token:
            await asyncio.to_thread(_end_session, token, address)
        return rx.redirect("/")


def _end_session(token: str, address: str) -> None:
    if (user := users.user_for_token(token)) is not None:
        actions.record(
            Actor.user(user.username, user.role, address), "logout", f"user:{user.username}"
        )
    users.end_session(token)
