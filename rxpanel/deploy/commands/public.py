"""The public check: the app asked through nginx on the server itself, as a
browser and curl would ask it, right after the switch.

The health gate asks the backend's port; this asks the site just installed, so
a frontend nginx cannot read, a site that sends pages to the backend, or a
missing asset shows before the deploy calls itself done."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from rxpanel.deploy.commands.base import q

# argv: scheme address port host-header timeout
# nginx reloads gracefully: for a moment the old workers may still answer, so a
# failed round is asked again until the timeout; only the last round's problems
# are reported.
PUBLIC = r"""
import http.client, re, ssl, sys, time
scheme, addr, port, host, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"
ASSET = re.compile(r'["\'](/(?:[^"\'?#\s/]+/)*?(?:assets|_next/static)/[^"\'?#\s]+\.(?:js|css))["\']')

def get(path, accept):
    if scheme == "https":
        ctx = ssl._create_unverified_context()  # the site, not its certificate, is checked
        conn = http.client.HTTPSConnection(addr, port, timeout=5, context=ctx)
    else:
        conn = http.client.HTTPConnection(addr, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host, "Accept": accept, "User-Agent": "rxpanel-public-check"})
        r = conn.getresponse()
        return r.status, r.read(1 << 20).decode("utf-8", "replace")
    finally:
        conn.close()

def is_page(body):
    head = body[:4096].lower()
    return "<html" in head or "<!doctype html" in head

def problems():
    found, index = [], ""
    for who, accept in (("a browser", BROWSER), ("curl", "*/*")):
        status, body = get("/", accept)
        if status == 200 and is_page(body):
            index = body
        else:
            found.append("/ answered %d%s to %s" % (status, "" if is_page(body) else " without a page", who))
    asset = ASSET.search(index)
    if asset:
        status, _ = get(asset.group(1), "*/*")
        if status != 200:
            found.append("the asset %s answered %d" % (asset.group(1), status))
    elif index:
        found.append("index.html names no asset under assets/ or _next/static/")
    status, body = get("/ping", "*/*")
    if status != 200 or "pong" not in body:
        found.append("/ping through nginx answered %d %r" % (status, body[:60]))
    return found, asset.group(1) if asset else None

deadline = time.monotonic() + timeout
while True:
    try:
        found, asset = problems()
    except Exception as e:
        found, asset = ["nginx did not answer on %s:%d (%s)" % (addr, port, e)], None
    if not found:
        print("the public side answers: / (browser and curl), %s, /ping through nginx" % asset)
        sys.exit(0)
    if time.monotonic() >= deadline:
        print("; ".join(found))
        sys.exit(1)
    time.sleep(0.5)
"""


def address(url: str) -> tuple[str, str, int, str]:
    """(scheme, address to connect to, port, Host header) of the site for this URL:
    an IP URL's site listens on that address only, a name's on every address."""
    parts = urlsplit(url)
    scheme = "https" if parts.scheme == "https" else "http"
    port = parts.port or (443 if scheme == "https" else 80)
    name = parts.hostname or "localhost"
    try:
        ip = ipaddress.ip_address(name)
        connect, shown = str(ip), f"[{ip}]" if ip.version == 6 else str(ip)
    except ValueError:
        connect, shown = "127.0.0.1", name
    default = port == (443 if scheme == "https" else 80)
    return scheme, connect, port, shown if default else f"{shown}:{port}"


def public_check(url: str, timeout: float = 10) -> str:
    scheme, connect, port, host = address(url)
    return f"python3 -c {q(PUBLIC)} {scheme} {q(connect)} {int(port)} {q(host)} {float(timeout):g}"
