"""The validators at the edge, and the redaction of secrets from text."""

from __future__ import annotations

import re

import pytest

from rxpanel import validate
from rxpanel.secrets import REDACTED, redact
from rxpanel.validate import ValidationError


def refused(fn, *args, match: str | None = None):
    with pytest.raises(ValidationError, match=match):
        fn(*args)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("a", "a"),
        ("demo", "demo"),
        ("my-app-2", "my-app-2"),
        ("  demo  ", "demo"),
        ("a" * 40, "a" * 40),
    ],
)
def test_slug_accepts(value, clean):
    assert validate.slug(value) == clean


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "Demo",
        "1app",
        "-app",
        "app-",
        "my_app",
        "my app",
        "my.app",
        "a" * 41,
        "app;rm",
        "app$(x)",
        "../app",
        "app\nx",
        "ąpp",
    ],
)
def test_slug_refuses(value):
    refused(validate.slug, value, match="is not valid")


def test_slug_names_the_field():
    refused(validate.slug, "Bad", "app name", match="^app name 'Bad' is not valid")


@pytest.mark.parametrize("value", ["root", "deploy", "_svc", "www-data", "u1", "a" * 32])
def test_user_accepts(value):
    assert validate.user(f" {value} ") == value


@pytest.mark.parametrize(
    "value", ["", "Root", "1user", "-oProxyCommand=x", "a b", "a;b", "a" * 33, "us$er", "a\nb"]
)
def test_user_refuses(value):
    refused(validate.user, value, match="not a valid Unix user name")


# --------------------------------------------------------------------------- hosts and ports


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("srv-1.eu.example.com", "srv-1.eu.example.com"),
        ("localhost", "localhost"),
        ("10.0.0.5", "10.0.0.5"),
        (" 127.0.0.1 ", "127.0.0.1"),
        ("::1", "::1"),
        ("2001:DB8::1", "2001:db8::1"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
    ],
)
def test_host_accepts(value, clean):
    assert validate.host(value) == clean


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "-oProxyCommand=x",
        "-example.com",
        "example-.com",
        "a..b",
        "exa mple.com",
        "example.com;id",
        "$(id).example.com",
        "user@example.com",
        "example.com:22",
        "[::1]",
        "a" * 64 + ".com",
        ".".join(["a" * 63] * 4) + ".com",
        "a\n.example.com",
        "example.com\x00",
        "ex_ample.com",
    ],
)
def test_host_refuses(value):
    refused(validate.host, value, match="not a valid hostname or IP address|control characters")


@pytest.mark.parametrize(("value", "clean"), [(1, 1), (22, 22), ("8080", 8080), (" 443 ", 443)])
def test_port_accepts(value, clean):
    assert validate.port(value) == clean
    assert validate.port(65535) == 65535


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "out of range"),
        (65536, "out of range"),
        (-1, "out of range"),
        ("x", "not a number"),
        ("", "not a number"),
        ("80.5", "not a number"),
        ("80;id", "not a number"),
        (None, "not a number"),
    ],
)
def test_port_refuses(value, message):
    refused(validate.port, value, match=message)


def test_port_names_the_field():
    refused(validate.port, 0, "backend port", match="^backend port 0 is out of range")


@pytest.mark.parametrize(
    ("value", "low", "high", "ok"),
    [
        (1, 1, 10, True),
        (10, 1, 10, True),
        (0, 1, 10, False),
        (11, 1, 10, False),
        ("x", 1, 10, False),
    ],
)
def test_positive(value, low, high, ok):
    if ok:
        assert validate.positive(value, "keep", low, high) == int(value)
    else:
        refused(validate.positive, value, "keep", low, high)


# --------------------------------------------------------------------------- paths and commands


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("/srv/rxpanel", "/srv/rxpanel"),
        ("/srv/rxpanel/", "/srv/rxpanel"),
        (" /etc/nginx/conf.d ", "/etc/nginx/conf.d"),
        ("/", "/"),
        ("/opt/app_1/v2.0+build-3", "/opt/app_1/v2.0+build-3"),
        ("/srv/.hidden", "/srv/.hidden"),
    ],
)
def test_abs_path_accepts(value, clean):
    assert validate.abs_path(value) == clean


@pytest.mark.parametrize(
    "value",
    [
        "",
        "srv/rxpanel",
        "./srv",
        "~/srv",
        "/srv/../etc",
        "/srv/..",
        "/srv/./x",
        "/srv/my apps",
        "/srv/a;b",
        "/srv/$(id)",
        "/srv/`id`",
        "/srv/a'b",
        '/srv/a"b',
        "/srv/a\nb",
        "/srv/a*",
        "/srv/a&b",
        "/srv/a|b",
        "/" + "a" * 255,
    ],
)
def test_abs_path_refuses(value):
    refused(validate.abs_path, value)


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("nginx", "nginx"),
        ("supervisorctl", "supervisorctl"),
        ("/usr/sbin/nginx -c /x/nginx.conf -p /x/", "/usr/sbin/nginx -c /x/nginx.conf -p /x/"),
        ("  sudo   nginx  ", "sudo nginx"),
        (
            "supervisorctl -c /etc/s.conf -u user:pw@host",
            "supervisorctl -c /etc/s.conf -u user:pw@host",
        ),
        # harmless quotes are dropped: what is stored has none
        ("nginx -c '/etc/nginx/nginx.conf'", "nginx -c /etc/nginx/nginx.conf"),
        # a newline only separates words
        ("nginx\n-t", "nginx -t"),
    ],
)
def test_command_accepts(value, clean):
    assert validate.command(value) == clean


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "may only hold"),
        ("nginx; reboot", "may only hold"),
        ("nginx ;reboot", "may only hold"),
        ("nginx | sh", "may only hold"),
        ("nginx && reboot", "may only hold"),
        ("nginx $(reboot)", "may only hold"),
        ("nginx `reboot`", "may only hold"),
        ("nginx > /etc/passwd", "may only hold"),
        ("nginx -c '/a b.conf'", "may only hold"),
        ("nginx 'a;b'", "may only hold"),
        ('nginx "$HOME"', "may only hold"),
        ("nginx 'unclosed", "cannot be parsed"),
        ("nginx ~/x", "may only hold"),
        ("x" * 256, "may only hold"),
    ],
)
def test_command_refuses(value, message):
    refused(validate.command, value, match=message)


# --------------------------------------------------------------------------- git refs, release ids


@pytest.mark.parametrize(
    "value",
    [
        "main",
        "v1.2.3",
        "feature/new-ui",
        "release-2026.01",
        "a1b2c3d4",
        "A" * 200,
        "refs/heads/x",
        "main~1",
        "HEAD^",
        "v1.0^2~3",
    ],
)
def test_git_ref_accepts(value):
    assert validate.git_ref(f" {value} ") == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "-main",
        "--upload-pack=x",
        "main..dev",
        "HEAD@{1}",
        "@{-1}",
        "main;reboot",
        "main\nreboot",
        "main reboot",
        "main$(id)",
        "~main",
        "^main",
        "a:b",
        "feature//x",
        "feature/",
        "feature.",
        "x.lock",
        "feature/.hidden",
        ".hidden",
        "/main",
        "A" * 201,
    ],
)
def test_git_ref_refuses(value):
    refused(validate.git_ref, value, match="is not valid")


@pytest.mark.parametrize(
    "value", ["20261121T180102-ab12cd", "20261121T180102-abcd", "20261121T180102-abcdef123456"]
)
def test_release_id_accepts(value):
    assert validate.release_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "latest",
        "20261121T180102",
        "20261121T180102-ABCDEF",
        "20261121T180102-abc",
        "20261121T180102-abcdef1234567",
        "2026-11-21T18:01:02-ab12cd",
        "../20261121T180102-ab12cd",
        "20261121T180102-ab12cd;id",
        "20261121T180102-ab12cd/..",
    ],
)
def test_release_id_refuses(value):
    refused(validate.release_id, value, match="is not a release id")


# ------------------------------------------------------------ URLs (sources: test_sources.py)


@pytest.mark.parametrize(
    ("value", "clean"),
    [
        ("http://127.0.0.1:18080", "http://127.0.0.1:18080"),
        ("http://app.example.com", "http://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("HTTPS://App.Example.COM", "https://app.example.com"),
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        (" http://app.example.com ", "http://app.example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://[2001:DB8::1]", "http://[2001:db8::1]"),
        # one site, one spelling: default ports dropped, IDNA, a trailing dot
        ("HTTP://127.0.0.1:80/", "http://127.0.0.1"),
        ("https://app.example.com:443/", "https://app.example.com"),
        ("http://app.example.com:443", "http://app.example.com:443"),
        ("http://[::1]:80", "http://[::1]"),
        ("https://Bücher.Example", "https://xn--bcher-kva.example"),
        ("http://app.example.com.", "http://app.example.com"),
        # catch-all names pass here; apps.AppInput asks for consent (needs_admin)
        ("http://_", "http://_"),
        ("http://*.Example.com", "http://*.example.com"),
    ],
)
def test_public_url_accepts(value, clean):
    assert validate.public_url(value) == clean


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must start with http:// or https://"),
        ("app.example.com", "must start with http:// or https://"),
        ("ftp://app.example.com", "must start with http:// or https://"),
        ("javascript:alert(1)", "must start with http:// or https://"),
        ("http://user@app.example.com", "must not hold credentials"),
        ("http://user:pw@app.example.com", "must not hold credentials"),
        ("http://app.example.com/?x=1", "must not hold credentials, a query"),
        ("http://app.example.com/#top", "must not hold credentials, a query or a fragment"),
        ("http://app.example.com/app", "must not have a path"),
        ("http://app.example.com/a/b/", "must not have a path"),
        ("http://app.example.com\n.evil", "control characters"),
        ("http://app.example.com/\nx", "control characters"),
        ("http://app.example.com:0", "out of range"),
        ("http://app.example.com:65536", "is not valid"),
        ("http://app.example.com:x", "is not valid"),
        ("http://[::1", "is not valid"),
        ("http://exa mple.com", "not a valid hostname"),
        ("http://app_1.example.com", "not a valid hostname"),
        ("http://$(id).example.com", "not a valid hostname"),
        ("http://", "not a valid hostname"),
        ("http://@app.example.com", "must not hold credentials"),
        ("http://*", "nginx takes no server name"),
        ("http://*.*.example.com", "not a valid hostname"),
    ],
)
def test_public_url_refuses(value, message):
    refused(validate.public_url, value, match=message)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://app.example.com", ""),
        ("http://127.0.0.1:8080", ""),
        ("http://[::1]", ""),
        ("http://203.0.113.5", "http://203.0.113.5 is an IP address"),
        ("https://[2001:db8::1]", "is an IP address"),
        ("http://_", "http://_ is a catch-all name"),
        ("http://*.example.com", "is a catch-all name"),
        ("http://.example.com", "is a catch-all name"),
    ],
)
def test_needs_admin(url, why):
    found = validate.needs_admin(url)
    assert (why in found) if why else found == ""
    if why:
        assert "--allow-ip-url" in found


def test_url_claims():
    assert validate.url_claims("http://a.example") == {("a.example", 80)}
    assert validate.url_claims("http://a.example:8080") == {("a.example", 8080)}
    assert validate.url_claims("https://a.example") == {("a.example", 443), ("a.example", 80)}


def test_public_url_refuses_an_ipv6_zone():
    """A zone id cannot go into an nginx `listen` (nginx -t: "invalid IPv6 address")."""
    refused(validate.public_url, "http://[fe80::1%eth0]:8080")


@pytest.mark.parametrize(
    "value", ["/ping", "/_health", "/api/v1/health", "/", "/health-check.json", "/~x"]
)
def test_health_path_accepts(value):
    assert validate.health_path(f" {value} ") == value


@pytest.mark.parametrize(
    "value",
    ["", "ping", "/a/../b", "/ping?x=1", "/pi ng", "/ping;id", "/$(id)", "/a\nb", "/" + "a" * 201],
)
def test_health_path_refuses(value):
    refused(validate.health_path, value, match="must look like /ping")


# --------------------------------------------------------------------------- env


@pytest.mark.parametrize("value", ["A", "DATABASE_URL", "_x", "k9", "A" * 128])
def test_env_key_accepts(value):
    assert validate.env_key(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "9A",
        "A-B",
        "A B",
        "A=B",
        "A;B",
        "$A",
        "A" * 129,
        # a key ends up at the start of a line the launcher sources: a newline would
        # turn `RM\n='x'` into the command `RM`
        "REBOOT\n",
        "A\nB",
        "\nA",
        "A\x00",
    ],
)
def test_env_key_refuses(value):
    refused(validate.env_key, value, match="must be letters, digits and '_'")


@pytest.mark.parametrize(
    "value",
    ["", "plain", "with space", 'it\'s "quoted" $HOME $(id) `id`; a | b & c', "ünï ✓", "x" * 8192],
)
def test_env_value_accepts(value):
    assert validate.env_value("K", value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("line\nbreak", "control characters or newlines"),
        ("cr\rhere", "control characters or newlines"),
        ("nul\x00here", "control characters or newlines"),
        ("tab\there", "control characters or newlines"),
        ("del\x7fhere", "control characters or newlines"),
        ("x" * 8193, "longer than 8192"),
    ],
)
def test_env_value_refuses(value, message):
    refused(validate.env_value, "K", value, match=message)


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("A=1", ("A", "1")),
        ("A=", ("A", "")),
        ("URL=postgres://u:p@h/db?x=1", ("URL", "postgres://u:p@h/db?x=1")),
        ("A=b=c", ("A", "b=c")),
    ],
)
def test_env_pair_accepts(text, pair):
    assert validate.env_pair(text) == pair


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("A", "must be KEY=VALUE"),
        ("", "must be KEY=VALUE"),
        ("=1", "env key"),
        ("A B=1", "env key"),
        ("REBOOT\n=1", "env key"),
        ("A=1\n2", "control characters"),
    ],
)
def test_env_pair_refuses(text, message):
    refused(validate.env_pair, text, match=message)


# --------------------------------------------------------------------------- redact


def test_redact_replaces_every_occurrence():
    assert (
        redact("token=abc123 and again abc123", ["abc123"])
        == f"token={REDACTED} and again {REDACTED}"
    )


def test_redact_longest_first():
    """A secret that contains another is hidden whole, not leaving its tail visible."""
    text = "password=hunter2hunter2!"
    assert redact(text, ["hunter2", "hunter2hunter2!"]) == f"password={REDACTED}"
    assert redact(text, ["hunter2hunter2!", "hunter2"]) == f"password={REDACTED}"


def test_redact_ignores_short_and_empty_values():
    """One- and two-character values would blank out half of every log line."""
    assert redact("a b ab 1 12", ["a", "ab", "", "12"]) == "a b ab 1 12"
    assert redact("abc", ["abc"]) == REDACTED


def test_redact_without_secrets():
    assert redact("nothing to hide", []) == "nothing to hide"
    assert redact("nothing to hide", ["absent"]) == "nothing to hide"


def test_redact_accepts_any_iterable_with_duplicates():
    assert redact("s3cret s3cret", (s for s in ["s3cret", "s3cret"])) == f"{REDACTED} {REDACTED}"


@pytest.mark.parametrize(
    "choice, custom, path",
    [("/ping", "ignored", "/ping"), ("/_health", "", "/_health"), ("custom", " /up ", "/up")],
)
def test_health_choice_is_liveness_readiness_or_a_checked_custom_path(choice, custom, path):
    assert validate.health_choice(choice, custom) == path


@pytest.mark.parametrize(
    "choice, custom, says",
    [
        ("custom", "/a b", "no spaces, quotes or query"),
        ("custom", "/x'", "must look like /ping: start with /"),
        ("custom", "", "must look like /ping"),
        ("/healthz", "", "must be /ping, /_health or custom"),
    ],
)
def test_health_choice_refuses(choice, custom, says):
    with pytest.raises(validate.ValidationError, match=re.escape(says)):
        validate.health_choice(choice, custom)
