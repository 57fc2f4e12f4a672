"""The renderers of the files rxpanel writes on a server: nginx site, supervisor
program, launcher, env snapshot, release metadata; and the real nginx reading them."""

from __future__ import annotations

import contextlib
import datetime
import json
import shlex
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rxpanel.deploy.templates import live
from rxpanel.deploy.templates.nginx import listen_lines, render_site
from rxpanel.deploy.templates.release import (
    render_env_file,
    render_release_json,
    render_run_script,
)
from rxpanel.deploy.templates.supervisor import render_program

RID = "20261121T180102-ab12cd"
REL_DIR = f"/srv/rxpanel/my-app/releases/{RID}"
NGINX = "/usr/sbin/nginx"


def site(url: str, **kw) -> str:
    args = {
        "app": "my-app",
        "url": url,
        "release": RID,
        "release_dir": REL_DIR,
        "color": "blue",
        "port": 8001,
    }
    return render_site(**{**args, **kw})


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


# --------------------------------------------------------------------------- nginx site

HEADERS = """\
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;"""

SECURITY = """\
    add_header X-Content-Type-Options "nosniff" always;
    add_header Referrer-Policy "strict-origin-when-cross-origin" always;
    add_header Content-Security-Policy "frame-ancestors 'self'" always;"""
ASSETS_SECURITY = SECURITY.replace("\n    ", "\n        ").replace("    add", "        add", 1)
HSTS = 'add_header Strict-Transport-Security "max-age=31536000" always;'

LIVE_TAG = (
    "        gzip_static off;\n"
    "        gzip on;\n"
    f"        sub_filter '</head>' '{live.tag(RID, 'reload')}</head>';\n"
    "        sub_filter_once on;"
)
IP_SITE = f"""\
# Managed by rxpanel: app my-app, release {RID}, blue backend on port 8001.
# Rewritten at every deploy and rollback; edits here are lost.
map $http_accept $rxpanel_my_app_html {{
    default 0;
    "~text/html" 1;
}}

upstream rxpanel_my_app {{
    server 127.0.0.1:8001;
    keepalive 16;
}}

server {{
    listen 127.0.0.1:18080;
    server_name 127.0.0.1;
    root {REL_DIR}/frontend;
    index index.html;
    gzip_static on;
    client_max_body_size 100m;

    # Default security headers, on error pages too (`always`). A location with an
    # add_header of its own drops the server's: /assets/ repeats them.
{SECURITY}

    # Reflex's websocket: upgrade headers and long timeouts.
    location /_event {{
        proxy_pass http://rxpanel_my_app;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
{HEADERS}
        proxy_read_timeout 1d;
        proxy_send_timeout 1d;
        proxy_buffering off;
    }}

    location ~ ^/(ping|_health|_upload)(/|$) {{
        proxy_pass http://rxpanel_my_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
{HEADERS}
        proxy_request_buffering off;
    }}

    # Hashed build assets never change. A tab still on the previous release's
    # bundle may ask for one this release has not: the previous release has it.
    location /assets/ {{
        expires max;
        add_header Cache-Control "public, immutable";
{ASSETS_SECURITY}
        try_files $uri =404;
    }}

    # The live release, for the tabs of an older one (see /_rxpanel/live.js).
    location = /_rxpanel/release {{
        default_type application/json;
        add_header Cache-Control "no-store" always;
{ASSETS_SECURITY}
        return 200 '{{"release": "{RID}", "mode": "reload"}}';
    }}

    location = /_rxpanel/live.js {{
        default_type application/javascript;
        add_header Cache-Control "no-cache" always;
{ASSETS_SECURITY}
        return 200 '{live.SCRIPT}';
    }}

    # The prerendered page, to every client; if it cannot be read, the backend.
    location = / {{
{LIVE_TAG}
        try_files /index.html @backend;
    }}

    # A static file if there is one, else the backend (the app's own API routes).
    location / {{
{LIVE_TAG}
        try_files $uri $uri.html $uri/index.html @backend;
    }}

    # Whatever the backend does not know either is a page nobody has: see @missing.
    location @backend {{
        proxy_pass http://rxpanel_my_app;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
{HEADERS}
        proxy_intercept_errors on;
        recursive_error_pages on;
        error_page 404 = @missing;
    }}

    # A browser navigating to a client-side route gets the SPA fallback (200):
    # React Router's __spa-fallback.html (Reflex 0.8+), or Next.js's 404.html
    # (0.7), whose client-side routing renders dynamic routes;
    # other clients get the app's 404 page with status 404. Both end here, in
    # files only: never back to the backend, so no loop and no made-up status.
    location @missing {{
        if ($rxpanel_my_app_html) {{
            rewrite ^ /__rxpanel_spa last;
        }}
        rewrite ^ /__rxpanel_404 last;
    }}

    location = /__rxpanel_spa {{
        internal;
{LIVE_TAG}
        try_files /__spa-fallback.html /404.html /index.html =404;
    }}

    location = /__rxpanel_404 {{
        internal;
        error_page 404 /404.html;
        return 404;
    }}

    location = /404.html {{
        try_files /404.html =404;
    }}
}}
"""


def test_site_for_an_ip_url():
    assert site("http://127.0.0.1:18080") == IP_SITE


def test_site_for_a_domain():
    text = site("http://app.example.com")
    assert text == IP_SITE.replace("    listen 127.0.0.1:18080;\n", "    listen 80;\n").replace(
        "server_name 127.0.0.1;", "server_name app.example.com;"
    )
    assert "ssl" not in text
    assert "return 301" not in text


REDIRECT = """
server {{
    listen {listen};
    server_name {name};
    return 301 {target};
}}
"""


@pytest.mark.parametrize(
    ("url", "listen", "name", "redirect_listen", "target"),
    [
        (
            "https://app.example.com",
            "listen 443 ssl;",
            "app.example.com",
            "80",
            "https://$host$request_uri",
        ),
        (
            "https://app.example.com:8443",
            "listen 8443 ssl;",
            "app.example.com",
            "80",
            # $host has no port: the redirect must name the one the site listens on
            "https://$host:8443$request_uri",
        ),
        (
            "https://10.0.0.5",
            "listen 10.0.0.5:443 ssl;",
            "10.0.0.5",
            "10.0.0.5:80",
            "https://$host$request_uri",
        ),
    ],
)
def test_site_for_https(url, listen, name, redirect_listen, target):
    text = site(url)
    server = text.index("\nserver {\n    listen " + listen.removeprefix("listen "))
    assert lines(text[server:])[2:5] == [
        listen,
        f"ssl_certificate /etc/letsencrypt/live/{name}/fullchain.pem;",
        f"ssl_certificate_key /etc/letsencrypt/live/{name}/privkey.pem;",
    ]
    redirect = REDIRECT.format(listen=redirect_listen, name=name, target=target)
    assert redirect in text
    assert text.index(redirect) < server  # between the upstream and the site
    assert text.count("server {") == 2


def test_security_headers_on_the_server_and_again_in_assets():
    """nginx drops the server's add_header in a location with its own (/assets/)."""
    text = site("http://app.example.com")
    # the server; /assets/, /_rxpanel/release and /_rxpanel/live.js repeat them
    assert text.count('add_header X-Content-Type-Options "nosniff" always;') == 4
    assert text.count("add_header Content-Security-Policy \"frame-ancestors 'self'\" always;") == 4
    assert sum(x.startswith("add_header ") for x in lines(text)) == 15  # 3, 3 x (Cache-Control, 3)
    assert "Strict-Transport-Security" not in text
    assert "$proxy_add_x_forwarded_for" not in text
    assert text.count("proxy_set_header X-Forwarded-For $remote_addr;") == 3


def test_hsts_on_https_sites_only():
    text = site("https://app.example.com")
    assert text.count(f"    {HSTS}\n") == 4  # the server, /assets/, /_rxpanel/*
    redirect = text[: text.index("server {\n    listen 443")]
    assert not any(x.startswith("add_header") for x in lines(redirect))  # plain http: no HSTS


def test_site_for_ipv6():
    text = site("http://[::1]:8080")
    assert "    listen [::1]:8080;\n" in text
    assert "listen 80" not in text and "ssl" not in text


@pytest.mark.parametrize(
    ("url", "listens", "http_address"),
    [
        ("http://127.0.0.1:18080", ["    listen 127.0.0.1:18080;"], "127.0.0.1:80"),
        ("http://10.1.2.3", ["    listen 10.1.2.3:80;"], "10.1.2.3:80"),
        ("http://app.example.com", ["    listen 80;"], "80"),
        ("http://app.example.com:8080", ["    listen 8080;"], "80"),
        ("https://app.example.com", ["    listen 443 ssl;"], "80"),
        ("http://[::1]:8080", ["    listen [::1]:8080;"], "[::1]:80"),
        ("https://[2001:db8::1]", ["    listen [2001:db8::1]:443 ssl;"], "[2001:db8::1]:80"),
    ],
)
def test_listen_lines(url, listens, http_address):
    assert listen_lines(url) == (listens, http_address)


def test_site_names_follow_the_app_and_port():
    text = site("http://127.0.0.1:18080", app="shop", color="green", port=9002, release="R2")
    assert text.startswith(
        "# Managed by rxpanel: app shop, release R2, green backend on port 9002.\n"
    )
    assert "map $http_accept $rxpanel_shop_html {" in text
    assert "upstream rxpanel_shop {\n    server 127.0.0.1:9002;" in text
    assert text.count("proxy_pass http://rxpanel_shop;") == 3
    assert "rxpanel_my_app" not in text and "8001" not in text


# --------------------------------------------------------------------------- supervisor program


def test_program():
    assert (
        render_program(
            app="demo",
            program="rxpanel-demo-blue",
            color="blue",
            release=RID,
            release_dir=f"/srv/rxpanel/demo/releases/{RID}",
            port=8001,
            user="deploy",
            log="/srv/rxpanel/demo/logs/blue.log",
        )
        == f"""\
; Managed by rxpanel: app demo, blue colour, release {RID}.
[program:rxpanel-demo-blue]
command=/bin/sh /srv/rxpanel/demo/releases/{RID}/run.sh 8001
directory=/srv/rxpanel/demo/releases/{RID}/backend
user=deploy
autostart=true
autorestart=true
startsecs=1
startretries=3
stopsignal=TERM
stopwaitsecs=10
stopasgroup=true
killasgroup=true
environment=RXPANEL_PROGRAM="rxpanel-demo-blue"
redirect_stderr=true
stdout_logfile=/srv/rxpanel/demo/logs/blue.log
stdout_logfile_maxbytes=10MB
stdout_logfile_backups=3
"""
    )


def program_lines(**kw) -> list[str]:
    args = {
        "app": "demo",
        "program": "rxpanel-demo-green",
        "color": "green",
        "release": RID,
        "release_dir": f"/srv/rxpanel/demo/releases/{RID}",
        "port": 8002,
        "user": "rxa-demo",
        "log": "/srv/rxpanel/demo/logs/green.log",
    }
    return render_program(**{**args, **kw}).splitlines()


def test_program_stop_drains_then_kills_the_group():
    """TERM to the whole group, the app's drain, then KILL to the group; every process
    of the colour tagged, so the sweep finds those that left the group."""
    lines = program_lines(drain=25)
    for line in (
        "stopsignal=TERM",
        "stopwaitsecs=25",
        "stopasgroup=true",
        "killasgroup=true",
        'environment=RXPANEL_PROGRAM="rxpanel-demo-green"',
    ):
        assert lines.count(line) == 1, line
    assert "stopwaitsecs=10" in program_lines()  # the default drain
    assert "stopwaitsecs=1" in program_lines(drain=0)  # never "no wait at all"


# --------------------------------------------------------------------------- launcher


def test_run_script():
    assert (
        render_run_script(
            app="demo",
            release=RID,
            release_dir=f"/srv/rxpanel/demo/releases/{RID}",
            venv="/srv/rxpanel/demo/venvs/0123abcd",
            home="/srv/rxpanel/demo/shared/home",
        )
        == f"""\
#!/bin/sh
# rxpanel launcher for release {RID} of demo. Usage: run.sh PORT
set -e
cd /srv/rxpanel/demo/releases/{RID}/backend
set -a
. /srv/rxpanel/demo/releases/{RID}/env
set +a
export HOME=/srv/rxpanel/demo/shared/home
# Reflex starts its server by name (gunicorn, granian) from the venv
PATH=/srv/rxpanel/demo/venvs/0123abcd/bin:$PATH
exec /srv/rxpanel/demo/venvs/0123abcd/bin/reflex run --env prod --backend-only --backend-host 127.0.0.1 --backend-port "$1"
"""
    )


WEIRD = "we ird 'sq' \"dq\" $(touch pwned1) `touch pwned2` ; touch pwned3 & *"


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_run_script_runs(tmp_path, shell):
    """The launcher cds to the backend, exports the env and HOME, and execs reflex
    with the port, with every path taken literally."""
    root = tmp_path / WEIRD
    release_dir, venv, home = root / "releases" / RID, root / "venvs" / "h", root / "shared/home"
    (release_dir / "backend").mkdir(parents=True)
    home.mkdir(parents=True)
    value = 'it\'s $HOME `touch pwned4` "q" \\n'
    (release_dir / "env").write_text(render_env_file({"SECRET": value}, "http://a.example.com"))
    reflex = venv / "bin" / "reflex"
    reflex.parent.mkdir(parents=True)
    reflex.write_text(
        '#!/bin/sh\nprintf \'%s\\n\' "$(pwd)" "$*" "$HOME" "$SECRET" "$REFLEX_API_URL"\n'
    )
    reflex.chmod(0o755)
    script = release_dir / "run.sh"
    script.write_text(
        render_run_script(
            app="demo", release=RID, release_dir=str(release_dir), venv=str(venv), home=str(home)
        )
    )
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    result = subprocess.run(
        [shell, str(script), "8123"],
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        str(release_dir / "backend"),
        "run --env prod --backend-only --backend-host 127.0.0.1 --backend-port 8123",
        str(home),
        value,
        "http://a.example.com",
    ]
    assert not list(tmp_path.rglob("pwned*"))


def test_run_script_syntax():
    text = render_run_script(
        app="demo", release=RID, release_dir=f"/x/{WEIRD}", venv=f"/v/{WEIRD}", home="/h"
    )
    for shell in ("dash", "bash"):
        assert subprocess.run([shell, "-n", "-c", text]).returncode == 0


# --------------------------------------------------------------------------- env file


def test_env_file():
    assert render_env_file({"A": "1", "B": "x y", "C": "it's"}, "https://app.example.com") == (
        "A=1\n"
        "B='x y'\n"
        "C='it'\"'\"'s'\n"
        "REFLEX_API_URL=https://app.example.com\n"
        "REFLEX_DEPLOY_URL=https://app.example.com\n"
    )


def test_env_file_url_wins_over_the_app_env():
    text = render_env_file({"REFLEX_API_URL": "http://wrong", "A": "1"}, "http://right")
    assert text == "REFLEX_API_URL=http://right\nA=1\nREFLEX_DEPLOY_URL=http://right\n"


def test_env_file_for_reflex_0_7_12_names_the_settings_bare_too():
    # Reflex up to 0.7.12 reads API_URL, DB_URL... only; the app's own bare names
    # win, except the URL
    text = render_env_file(
        {"API_URL": "http://wrong", "DB_URL": "sqlite:///mine.db", "B": "2"},
        "http://right",
        {"REFLEX_DB_URL": "sqlite:////s/reflex.db"},
        bare=True,
    )
    assert text == (
        "DB_URL=sqlite:///mine.db\nAPI_URL=http://right\nDEPLOY_URL=http://right\n"
        "REFLEX_DB_URL=sqlite:////s/reflex.db\nB=2\n"
        "REFLEX_API_URL=http://right\nREFLEX_DEPLOY_URL=http://right\n"
    )


ENV_VALUES = [
    "",
    "plain",
    "with space",
    "  leading and trailing  ",
    "it's",
    'say "hi"',
    "$HOME",
    "${HOME:-x}",
    "$(touch pwned)",
    "`touch pwned`",
    "a;touch pwned",
    "a && touch pwned",
    "a | cat",
    "back\\slash \\n \\t",
    "glob * ? [a]",
    "~root",
    "#not a comment",
    "x=y",
    "!bang",
    "ünïcødé ✓",
    "line\nbreak",
]


@pytest.mark.parametrize("shell", ["dash", "bash"])
@pytest.mark.parametrize("value", ENV_VALUES)
def test_env_file_is_sourced_literally(tmp_path, shell, value):
    (tmp_path / "env").write_text(render_env_file({"KEY": value}, "http://x"), encoding="utf-8")
    result = subprocess.run(
        [shell, "-c", '. ./env; printf %s "$KEY"'],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": "/home/h", "LC_ALL": "C.UTF-8"},
        capture_output=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == value
    assert not list(tmp_path.glob("pwned*"))


# --------------------------------------------------------------------------- release.json


def test_release_json():
    text = render_release_json(id=RID, commit="abc123", req_hash="0123abcd", created=None)
    assert text == (
        "{\n"
        '  "commit": "abc123",\n'
        '  "created": null,\n'
        f'  "id": "{RID}",\n'
        '  "req_hash": "0123abcd"\n'
        "}\n"
    )
    assert json.loads(text)["id"] == RID


# --------------------------------------------------------------------------- real nginx

NGINX_CONF = """\
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
{extra}
events {{
    worker_connections 64;
}}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/sites/*.conf;
}}
"""


def nginx_prefix(tmp_path: Path, sites: dict[str, str], extra: str = "") -> Path:
    prefix = tmp_path / "nginx"
    (prefix / "sites").mkdir(parents=True)
    for name, text in sites.items():
        (prefix / "sites" / f"{name}.conf").write_text(text)
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, extra=extra))
    return prefix


def nginx_t(prefix: Path) -> subprocess.CompletedProcess:
    argv = [NGINX, "-t", "-c", str(prefix / "nginx.conf"), "-p", f"{prefix}/"]
    return subprocess.run(
        [*argv, "-e", str(prefix / "error.log")], capture_output=True, text=True, timeout=30
    )


def self_signed(directory: Path, name: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True)
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:18080",
        "http://app.example.com",
        "http://app.example.com:8080",
        "http://[::1]:18081",
        "https://app.example.com",
        "https://app.example.com:8443",
    ],
)
def test_nginx_accepts_the_site(tmp_path, url):
    text = site(url, release_dir=str(tmp_path / "release"))
    if url.startswith("https://"):
        # The site names Let's Encrypt's paths; point them at a certificate made here.
        certs = tmp_path / "letsencrypt"
        self_signed(certs / "app.example.com", "app.example.com")
        text = text.replace("/etc/letsencrypt/live/", f"{certs}/")
        assert str(certs) in text
    prefix = nginx_prefix(tmp_path, {"my-app": text})
    result = nginx_t(prefix)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_accepts_two_apps_side_by_side(tmp_path):
    """Each app has its own map variable and upstream: two sites load together."""
    prefix = nginx_prefix(
        tmp_path,
        {
            "my-app": site("http://127.0.0.1:18080"),
            "shop": site("http://127.0.0.1:18090", app="shop", port=8003),
        },
    )
    result = nginx_t(prefix)
    assert result.returncode == 0, result.stderr


def test_nginx_test_is_not_fooled(tmp_path):
    """The check above can fail: a broken site is refused."""
    prefix = nginx_prefix(tmp_path, {"my-app": site("http://127.0.0.1:18080") + "oops;\n"})
    assert nginx_t(prefix).returncode != 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend(BaseHTTPRequestHandler):
    """A Reflex backend as nginx sees it: /ping, an API route, 404 for the rest."""

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/ping":
            code, body = 200, b'"pong"'
        elif self.path == "/api/client":
            code, body = 200, json.dumps(self.headers.get_all("X-Forwarded-For")).encode()
        elif self.path.startswith("/api/"):
            code, body = 200, json.dumps({"api": self.path}).encode()
        else:
            code, body = 404, b"backend 404"
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


SITE_FILES = {
    "index.html": "INDEX",
    "404.html": "NOT FOUND PAGE",
    "__spa-fallback.html": "SPA",
    "docs.html": "DOCS",
    "about/index.html": "ABOUT",
    "assets/app.js": "JS",
}


@contextlib.contextmanager
def serve(tmp_path: Path, files: dict[str, str]):
    """nginx (in the foreground, one process) serving the rendered site of a release."""
    backend = ThreadingHTTPServer(("127.0.0.1", 0), Backend)
    threading.Thread(target=backend.serve_forever, args=(0.05,), daemon=True).start()
    release_dir = tmp_path / "release"
    (release_dir / "frontend").mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text is None:  # left out
            continue
        path = release_dir / "frontend" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    port = free_port()
    text = site(
        f"http://127.0.0.1:{port}", release_dir=str(release_dir), port=backend.server_address[1]
    )
    prefix = nginx_prefix(tmp_path, {"my-app": text}, extra="daemon off;\nmaster_process off;")
    proc = subprocess.Popen(
        [NGINX, "-c", str(prefix / "nginx.conf"), "-p", f"{prefix}/", "-e", f"{prefix}/error.log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"nginx did not start: {proc.stderr.read().decode()}"
                    ) from None
                time.sleep(0.02)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stderr.close()
        backend.shutdown()
        backend.server_close()


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("served"), SITE_FILES) as port:
        yield port


@pytest.fixture(scope="module")
def unreadable_site(tmp_path_factory):
    """A release whose frontend nginx cannot read (here: empty; nginx's try_files
    treats a denied file the same way): every static lookup fails."""
    with serve(tmp_path_factory.mktemp("unreadable"), {}) as port:
        yield port


def fetch(port: int, path: str, accept: str) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.mark.parametrize(
    ("path", "accept", "answer"),
    [
        ("/", BROWSER, (200, "INDEX")),
        ("/", "*/*", (200, "INDEX")),
        ("/", "application/json", (200, "INDEX")),
        ("/docs", BROWSER, (200, "DOCS")),
        ("/about", BROWSER, (200, "ABOUT")),
        ("/assets/app.js", "*/*", (200, "JS")),
        ("/ping", "*/*", (200, '"pong"')),
        ("/api/items", "application/json", (200, '{"api": "/api/items"}')),
        ("/api/items", BROWSER, (200, '{"api": "/api/items"}')),
        ("/client/route", BROWSER, (200, "SPA")),
        ("/client/route", "application/json", (404, "NOT FOUND PAGE")),
        ("/client/route", "*/*", (404, "NOT FOUND PAGE")),
        ("/404.html", "*/*", (200, "NOT FOUND PAGE")),
        ("/api/version", "*/*", (200, '{"api": "/api/version"}')),
    ],
)
def test_nginx_routes(served_site, path, accept, answer):
    assert fetch(served_site, path, accept) == answer


@pytest.mark.parametrize("path", ["/", "/client/route", "/__spa-fallback.html", "/404.html"])
@pytest.mark.parametrize("accept", [BROWSER, "*/*", "application/json"])
def test_nothing_answers_418_when_the_frontend_cannot_be_read(unreadable_site, path, accept):
    code, _ = fetch(unreadable_site, path, accept)
    assert code == 404


def test_the_backend_still_answers_when_the_frontend_cannot_be_read(unreadable_site):
    assert fetch(unreadable_site, "/ping", "*/*") == (200, '"pong"')
    assert fetch(unreadable_site, "/api/version", "*/*") == (200, '{"api": "/api/version"}')


def test_nginx_missing_asset_is_a_plain_404(served_site):
    code, _ = fetch(served_site, "/assets/gone.js", "*/*")
    assert code == 404


SECURITY_SERVED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": "frame-ancestors 'self'",
}


def served_headers(port: int, path: str, headers: dict[str, str] | None = None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


@pytest.mark.parametrize(
    ("path", "status"),
    [("/", 200), ("/assets/app.js", 200), ("/ping", 200), ("/api/x", 200), ("/nope", 404)],
)
def test_nginx_serves_the_security_headers(served_site, path, status):
    code, headers, _ = served_headers(served_site, path)
    assert code == status
    got = {k: headers.get_all(k) for k in SECURITY_SERVED}
    assert got == {k: [v] for k, v in SECURITY_SERVED.items()}
    assert headers.get("Strict-Transport-Security") is None  # an http site
    if path.startswith("/assets/"):
        assert "public, immutable" in headers.get_all("Cache-Control")


def test_nginx_does_not_pass_on_a_forwarded_for_the_client_made_up(served_site):
    _, _, body = served_headers(served_site, "/api/client", {"X-Forwarded-For": "6.6.6.6, ,"})
    assert json.loads(body) == ["127.0.0.1"]


def test_shlex_round_trip_of_env_lines():
    """Each env line is one KEY=word: shlex reads it back to the same value."""
    text = render_env_file({"K": "a 'b' \"c\" $d"}, "http://x")
    first = text.splitlines()[0]
    assert shlex.split(first) == ["K=a 'b' \"c\" $d"]
