"""deploy/commands/public.py: the public check (exact string, syntax, and the
script against a real nginx serving the rendered site)."""

from __future__ import annotations

import shlex
import subprocess
import sys

import pytest

from rxpanel.deploy.commands import public
from tests.unit.test_templates import serve

from ._support import SHELLS, assert_syntax, free_port


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://demo.example", ("http", "127.0.0.1", 80, "demo.example")),
        ("http://127.0.0.1:18080", ("http", "127.0.0.1", 18080, "127.0.0.1:18080")),
        ("http://10.0.0.5", ("http", "10.0.0.5", 80, "10.0.0.5")),
        ("https://app.example.com", ("https", "127.0.0.1", 443, "app.example.com")),
        ("https://app.example.com:8443", ("https", "127.0.0.1", 8443, "app.example.com:8443")),
        ("http://[::1]:18081", ("http", "::1", 18081, "[::1]:18081")),
    ],
)
def test_the_check_asks_the_sites_listen_address_with_its_host(url, address):
    assert public.address(url) == address


def test_exact_string():
    assert public.public_check("http://demo.example") == (
        f"python3 -c {shlex.quote(public.PUBLIC)} http 127.0.0.1 80 demo.example 10"
    )
    assert public.public_check("https://app.example.com:8443", timeout=2.5) == (
        f"python3 -c {shlex.quote(public.PUBLIC)} https 127.0.0.1 8443 app.example.com:8443 2.5"
    )


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("url", ["http://demo.example", "https://[::1]:8443", "http://x:1"])
def test_syntax(shell, url):
    assert_syntax(shell, url, public.public_check(url))
    compile(public.PUBLIC, "public-check", "exec")


INDEX = (
    '<!DOCTYPE html><html><head><link rel="modulepreload" href="/assets/root-Bx12.js"/>'
    "</head><body></body></html>"
)
PAGES = {
    "index.html": INDEX,
    "404.html": "<html>not found</html>",
    "__spa-fallback.html": INDEX,
    "assets/root-Bx12.js": "export {}",
}


def run_check(port: int, timeout: float = 0) -> subprocess.CompletedProcess:
    url = f"http://127.0.0.1:{port}"
    cmd = public.public_check(url, timeout=timeout).replace("python3 ", f"{sys.executable} ", 1)
    return subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=60)


def test_a_good_site_passes(tmp_path):
    with serve(tmp_path, PAGES) as port:
        result = run_check(port)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (
        "the public side answers: / (browser and curl), /assets/root-Bx12.js, /ping through nginx\n"
    )


def test_a_frontend_nginx_cannot_read_fails(tmp_path):
    with serve(tmp_path, {}) as port:
        result = run_check(port)
    assert result.returncode == 1
    assert result.stdout == ("/ answered 404 to a browser; / answered 404 to curl\n")


def test_a_missing_asset_fails(tmp_path):
    with serve(tmp_path, {**PAGES, "assets/root-Bx12.js": None}) as port:
        result = run_check(port)
    assert result.returncode == 1
    assert result.stdout == "the asset /assets/root-Bx12.js answered 404\n"


def test_no_nginx_fails_after_the_timeout(tmp_path):
    result = run_check(free_port(), timeout=1)
    assert result.returncode == 1
    assert result.stdout.startswith("nginx did not answer on 127.0.0.1:")
