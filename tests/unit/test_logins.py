"""Issue 12, items 3 and 4: the first admin needs the setup token; a client's
address is the socket's peer unless a trusted proxy says otherwise; failed
logins slow down per account and per address, never lock an account; a new
password or a disabled user revokes sessions and API tokens at once."""

from __future__ import annotations

import ipaddress
import os
import stat
from datetime import timedelta
from types import SimpleNamespace

import pytest
from starlette.testclient import TestClient

from rxpanel import clientaddr, settings
from rxpanel.models import utcnow
from rxpanel.services import ServiceError, audit, logins, setup, tokens, users

PROXIES = settings.parse_networks("127.0.0.1, 10.0.0.0/8")


# -- where a client comes from --------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", "", "203.0.113.9"),
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # an untrusted peer's header is ignored
        ("203.0.113.9", ",", "203.0.113.9"),
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # the client wrote 6.6.6.6
        ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # two trusted hops
        ("127.0.0.1", ",", "127.0.0.1"),  # garbage: the proxy stands for the client
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "1.2.3.4, nonsense", "127.0.0.1"),
        ("127.0.0.1", "10.0.0.5", "10.0.0.5"),  # all trusted: the left-most proxy
        ("", "1.2.3.4", "unknown"),
    ],
)
def test_the_client_address(peer, xff, expected):
    assert clientaddr.resolve(peer, xff, PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client():
    assert clientaddr.resolve("127.0.0.1", "1.2.3.4", ()) == "127.0.0.1"


def test_a_reflex_event_uses_the_scope_peer_not_the_header():
    router = SimpleNamespace(
        session=SimpleNamespace(client_ip="203.0.113.9"),
        headers=SimpleNamespace(
            raw_headers={"asgi-scope-client": "203.0.113.9", "x-forwarded-for": ", "}
        ),
    )
    assert clientaddr.of_router(router, ()) == "203.0.113.9"
    assert clientaddr.of_router(router, PROXIES) == "203.0.113.9"


def test_trusted_proxies_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("RXPANEL_TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8")
    assert settings.load().trusted_proxies == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
    )
    monkeypatch.setenv("RXPANEL_TRUSTED_PROXIES", "10.0.0.0/8, proxy.example")
    with pytest.raises(settings.SettingsError, match="proxy.example"):
        settings.load()
    monkeypatch.delenv("RXPANEL_TRUSTED_PROXIES")
    assert settings.load().trusted_proxies == ()


def test_the_api_sees_the_peer_through_an_untrusted_spoof(home):
    from rxpanel.api import api

    admin = users.create("ada", "password-ada", "admin")
    _, plain = tokens.issue(admin, "t", "read")
    # Starlette's test client is peer "testclient": not an IP, not trusted, kept as it is
    r = TestClient(api).get(
        "/api/v1/audit", headers={"Authorization": f"Bearer {plain}", "X-Forwarded-For": ","}
    )
    assert r.status_code == 403
    (refusal,) = audit.query(action="api.")
    assert refusal.address == "testclient"


# -- failed logins slow down ------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """Move the limiter's clock forward; the audit rows keep their real times."""
    offset = [timedelta(0)]
    monkeypatch.setattr(logins, "_now", lambda: utcnow() + offset[0])
    return SimpleNamespace(
        advance=lambda s: offset.__setitem__(0, offset[0] + timedelta(seconds=s))
    )


@pytest.fixture
def admin(home):
    return users.create("ada", "password-ada", "admin")


def _fail(name: str, address: str, times: int) -> list[str]:
    """Fail `times` logins, waiting out each delay; the refusals' messages."""
    said = []
    for _ in range(times):
        wait = logins.retry_after(name, address, logins._now())
        assert wait <= logins.PER_ADDRESS.cap
        with pytest.raises(logins.LoginRefused) as e:
            logins.login(name, "wrong-password", address)
        said.append(str(e.value))
    return said


def _stranger_fails(times: int, clock, address: str = "203.0.113.66") -> None:
    """A stranger fails `times` real password checks on the admin's name, each
    as soon as the limiter lets them."""
    failed = 0
    while failed < times:
        try:
            logins.login("ada", "guess", address)
        except logins.LoginRefused as e:
            if e.retry_after:
                clock.advance(e.retry_after)
            else:
                failed += 1


def test_a_stranger_does_not_lock_the_admin_out(admin, clock):
    _stranger_fails(10, clock)
    assert audit.count("login.failed", utcnow() - timedelta(hours=1), actor="ada") == 10
    # from elsewhere, the admin waits at most the account's cap, then gets in
    wait = logins.retry_after("ada", "198.51.100.1", logins._now())
    assert 0 < wait <= logins.PER_ACCOUNT.cap
    with pytest.raises(logins.LoginRefused, match=rf"try again in {wait} s"):
        logins.login("ada", "password-ada", "198.51.100.1")
    clock.advance(wait)
    assert logins.login("ada", "password-ada", "198.51.100.1").username == "ada"
    # and a success clears the account's count: no wait at the next login
    assert logins.retry_after("ada", "198.51.100.1", logins._now()) == 0


def test_even_from_the_strangers_address_the_right_password_works_after_the_delay(admin, clock):
    _stranger_fails(10, clock)
    wait = logins.retry_after("ada", "203.0.113.66", logins._now())
    assert 0 < wait <= max(logins.PER_ACCOUNT.cap, logins.PER_ADDRESS.cap)
    clock.advance(wait)
    assert logins.login("ada", "password-ada", "203.0.113.66").username == "ada"


def test_waits_grow_and_refusals_check_no_password(admin, clock):
    for _ in range(logins.PER_ACCOUNT.free):
        with pytest.raises(logins.LoginRefused, match="wrong"):
            logins.login("ada", "guess", "203.0.113.1")
    waits = []
    for _ in range(4):
        with pytest.raises(logins.LoginRefused, match="try again in") as e:
            logins.login("ada", "password-ada", "203.0.113.1")  # even the right one waits
        waits.append(e.value.retry_after)
        clock.advance(e.value.retry_after)
        with pytest.raises(logins.LoginRefused, match="wrong"):
            logins.login("ada", "guess", "203.0.113.1")
    assert waits == [2, 4, 8, 16]
    actions = [e.action for e in audit.query(actor="ada")]
    assert actions.count("login.throttled") == 4
    assert actions.count("login.failed") == logins.PER_ACCOUNT.free + 4


def test_a_spoofed_forwarded_for_does_not_escape_the_address_limit(home, clock):
    """`X-Forwarded-For: ,` once gave an empty address, which no limit counted."""
    peer = clientaddr.resolve("203.0.113.5", ",", ())
    for i in range(logins.PER_ADDRESS.free):
        with pytest.raises(logins.LoginRefused, match="wrong"):
            logins.login(f"user{i}", "x", clientaddr.resolve("203.0.113.5", ",", ()))
    with pytest.raises(logins.LoginRefused, match="try again"):
        logins.login("another", "x", clientaddr.resolve("203.0.113.5", ", ,", ()))
    # behind a trusted proxy the same spoof is the proxy's address, limited too
    assert clientaddr.resolve("127.0.0.1", ",", PROXIES) == "127.0.0.1"
    assert peer == "203.0.113.5"
    # and an empty address given by a caller is one address too, never no address
    for i in range(logins.PER_ADDRESS.free):
        with pytest.raises(logins.LoginRefused, match="wrong"):
            logins.login(f"other{i}", "x", "")
    with pytest.raises(logins.LoginRefused, match="try again"):
        logins.login("another", "x", "")


# -- a new password or a disabled user ends everything at once ----------------------


@pytest.fixture
def team(home):
    return {
        "admin": users.create("ada", "password-ada", "admin"),
        "dan": users.create("dan", "password-dan", "deployer"),
    }


def test_a_password_change_revokes_sessions_and_api_tokens(team):
    from rxpanel.api import api

    dan = team["dan"]
    session = users.start_session(dan.id)
    _, plain = tokens.issue(dan, "ci", "deploy")
    client = TestClient(api)
    whoami = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/whoami", headers=whoami).status_code == 200
    users.set_password(dan.id, "password-dan", "a-new-password")
    assert client.get("/api/v1/whoami", headers=whoami).status_code == 401
    assert users.user_for_token(session) is None and not users.session_alive(session)
    assert [r.state for r in tokens.records(dan.id)] == ["revoked"]
    # a token issued after the change works
    _, fresh = tokens.issue(dan, "ci2", "deploy")
    assert tokens.authenticate(fresh) is not None


def test_an_admin_reset_or_disable_revokes_too(team):
    dan = team["dan"]
    s1 = users.start_session(dan.id)
    _, t1 = tokens.issue(dan, "a", "read")
    users.admin_update(dan.id, password="reset-password")
    assert not users.session_alive(s1) and tokens.authenticate(t1) is None
    s2 = users.start_session(dan.id)
    _, t2 = tokens.issue(dan, "b", "read")
    users.admin_update(dan.id, disabled=True)
    assert not users.session_alive(s2) and tokens.authenticate(t2) is None
    users.admin_update(dan.id, disabled=False)
    assert tokens.authenticate(t2) is None  # enabling again brings no token back
    # the admin's own things are untouched
    s3 = users.start_session(team["admin"].id)
    users.admin_update(dan.id, role="viewer")
    assert users.session_alive(s3)


def test_a_live_page_stops_when_its_session_is_revoked(team, monkeypatch):
    import asyncio

    from rxpanel.state import live
    from rxpanel.state.auth import AuthState

    token = users.start_session(team["dan"].id)

    class Fake:
        session_token = token
        refreshed = 0

        async def __aenter__(self):
            return self

        async def __aexit__(self, *exc):
            return False

        def _interval(self):
            return 0

        def _still_watching(self):
            return True

        def _refresh(self):
            Fake.refreshed += 1
            if Fake.refreshed == 2:
                users.set_password(team["dan"].id, "password-dan", "another-password")

        def _finished(self):
            return False

    async def run():
        watch = live.LiveState.watch
        fn = getattr(watch, "fn", watch).__wrapped__  # the loop, past the role check
        return [item async for item in fn(Fake())]

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        out = pool.submit(asyncio.run, run()).result(timeout=30)
    assert Fake.refreshed == 2
    assert out == [AuthState.session_ended]


# -- the first admin ----------------------------------------------------------------


def test_the_setup_token_is_a_private_file_until_an_admin_exists(home):
    token = setup.ensure()
    assert token and setup.ensure() == token  # stable across restarts and workers
    path = home / "setup-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert token.encode() not in (home / "rxpanel.db").read_bytes()
    with pytest.raises(setup.SetupRefused, match="rxpanel setup-token"):
        setup.first_admin("", "ada", "password-ada")
    with pytest.raises(setup.SetupRefused, match="wrong"):
        setup.first_admin("not-it", "ada", "password-ada")
    assert not users.admin_exists()
    admin = setup.first_admin(token, "ada", "password-ada")
    assert admin.role == "admin" and not path.exists()
    with pytest.raises(ServiceError, match="already done"):
        setup.first_admin(token, "mallory", "password-mallory")
    assert setup.ensure() is None and not path.exists()


def test_an_admin_from_the_cli_ends_the_setup(home):
    token = setup.ensure()
    users.create("root", "password-root", "admin")
    with pytest.raises(ServiceError, match="already done"):
        setup.first_admin(token, "mallory", "password-mallory")
    assert setup.ensure() is None


def test_a_viewer_first_does_not_end_the_setup(home):
    token = setup.ensure()
    users.create("vic", "password-vic", "viewer")
    assert not users.admin_exists()
    assert setup.first_admin(token, "ada", "password-ada").role == "admin"


def test_the_startup_prints_the_token_to_a_terminal_only(home):
    from rxpanel import announce

    token = setup.ensure()
    tty = announce.lines(token, "/x/setup-token", "http://127.0.0.1:3000/", "here", True)
    assert any(token in line for line in tty)
    log = announce.lines(token, "/x/setup-token", "http://127.0.0.1:3000/", "here", False)
    assert not any(token in line for line in log)
    assert any("/x/setup-token" in line for line in log)
    assert announce.lines(None, "", "http://h:1/", "n", True) == [
        "rxpanel: serving http://h:1/ (n; RXPANEL_BIND / RXPANEL_PORT change it)"
    ]
