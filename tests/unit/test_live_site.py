"""The nginx site's part in keeping open tabs live through a deploy (issue 14, part 3):
the live release at /_rxpanel/release (no-store), the script put into every page
served from files, and the previous release's hashed assets as a fallback."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from rxpanel.deploy.templates import live
from rxpanel.deploy.templates.nginx import render_site

ARGS = dict(
    app="demo",
    url="http://demo.example",
    release="R2",
    release_dir="/srv/rxpanel/demo/releases/R2",
    color="green",
    port=8001,
)


def test_the_live_release_is_served_no_store():
    site = render_site(**ARGS)
    block = site.split("location = /_rxpanel/release {", 1)[1].split("}\n", 1)[0]
    assert 'add_header Cache-Control "no-store" always;' in block
    assert 'return 200 \'{"release": "R2", "mode": "reload"}\';' in block


def test_every_page_from_files_gets_the_script_before_head_ends():
    site = render_site(**ARGS, on_new_release="notice")
    tag = '<script src="/_rxpanel/live.js" data-release="R2" data-mode="notice" defer></script>'
    assert site.count(f"sub_filter '</head>' '{tag}</head>';") == 3  # /, files, SPA fallback
    assert site.count("gzip_static off;") == 3  # a .gz page cannot be filtered
    assert site.count("gzip on;") == 3  # it is compressed after the filter instead
    assert "return 200 '" + live.SCRIPT + "';" in site


def test_the_previous_release_serves_the_hashed_assets_this_one_lacks():
    site = render_site(**ARGS, previous_dir="/srv/rxpanel/demo/releases/R1")
    assert "try_files $uri @previous_assets;" in site
    assert "root /srv/rxpanel/demo/releases/R1/frontend;" in site
    first = render_site(**ARGS)
    assert "@previous_assets" not in first and "try_files $uri =404;" in first


def test_the_script_fits_an_nginx_string():
    assert "$" not in live.SCRIPT and "'" not in live.SCRIPT and "\\" not in live.SCRIPT


@pytest.mark.skipif(not shutil.which("node"), reason="needs node")
def test_the_script_parses():
    result = subprocess.run(
        ["node", "--check", "-"], input=live.SCRIPT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
