"""Where an app's source may come from (rxpanel/sources.py): git over https:// or
ssh://, or a local directory under a root the admin allows, compared as a real path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rxpanel import settings, sources
from rxpanel.settings import SettingsError
from rxpanel.validate import ValidationError


@pytest.fixture
def roots(tmp_path, monkeypatch):
    """A panel home and one allowed root, `apps/`, with a directory `demo` in it."""
    (tmp_path / "apps" / "demo").mkdir(parents=True)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("RXPANEL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RXPANEL_SOURCE_ROOTS", str(tmp_path / "apps"))
    settings.get.cache_clear()
    yield tmp_path
    settings.get.cache_clear()


def refused(value: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        sources.check(value)


@pytest.mark.parametrize(
    "value",
    [
        "git@github.com:org/repo.git",
        "https://github.com/org/repo.git",
        "https://git.local:3000/org/repo",
        "ssh://git@github.com/org/repo.git",
        "ssh://git@host:2222/~me/repo",
        "ssh://git@127.0.0.1:2222/srv/repo.git",
    ],
)
def test_git_urls_over_https_and_ssh_are_accepted(roots, value):
    assert sources.check(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("http://git.local/org/repo", r"http:// is refused \(nothing is encrypted.*use https://"),
        ("HTTP://git.local/org/repo", r"http:// is refused"),
        (
            "git://host/repo",
            r"git:// is refused \(neither encrypted nor authenticated\); use https",
        ),
        ("ext::sh -c touch% /tmp/pwned", r"transport::address form runs programs"),
        ("fd::17/repo", r"transport::address form"),
        ("ftp://host/repo", r"must be a git URL \(https://, ssh:// or git@host:path\) or a local"),
        ("", r"must be a git URL"),
        ("apps/demo", r"must be a git URL"),
        ("-oProxyCommand=x@host:repo", r"must be a git URL"),
        ("--upload-pack=touch /tmp/x", r"must be a git URL"),
        ("https://user:secret@github.com/org/repo", "must not hold a password"),
        ("https://x-access-token:ghp_abc@github.com/o/r", "must not hold a password"),
        ("https://github.com/org/repo name", "holds characters a git URL cannot"),
        ("https://github.com/org/repo;id", "holds characters a git URL cannot"),
        ("https://github.com/$(id)", "holds characters a git URL cannot"),
        ("https://github.com/org/repo\nx", "control characters"),
        ("ssh://-oProxyCommand%3Dx/repo", "does not name a valid host"),
        ("git@host:-repo", "must not start with '-'"),
        ("/srv/../etc", "must not contain"),
        ("/srv/a b", "must be an absolute path"),
        ("file://host/srv/repo", r"a file:// URL names a directory of the panel host"),
    ],
)
def test_other_forms_are_refused_naming_what_to_use(roots, value, message):
    refused(value, message)


def test_local_sources_are_off_without_roots(roots, monkeypatch):
    monkeypatch.setenv("RXPANEL_SOURCE_ROOTS", "")
    settings.get.cache_clear()
    demo = str(roots / "apps" / "demo")
    hint = "local sources are off: an admin allows a directory with RXPANEL_SOURCE_ROOTS=/path"
    refused(demo, hint)
    refused(f"file://{demo}", hint)
    assert sources.check("https://github.com/org/repo.git")  # git URLs need no root


def test_a_directory_under_an_allowed_root(roots):
    demo = roots / "apps" / "demo"
    assert sources.check(str(demo)) == str(demo)
    assert sources.check(f"{demo}/") == str(demo)
    assert sources.check(f"file://{demo}") == f"file://{demo}"
    assert sources.check(str(roots / "apps")) == str(roots / "apps")  # the root itself
    where = sources.locate(str(demo))
    assert (where.scheme, where.local, where.git) == ("file", demo, False)  # copied
    (demo / ".git").mkdir()
    assert sources.locate(str(demo)).git  # a work tree: cloned
    assert sources.locate(f"file://{demo}") == sources.Where(str(demo), "file", demo, True)


def test_outside_the_roots_is_refused_with_the_setting_named(roots):
    (roots / "elsewhere").mkdir()
    refused(
        str(roots / "elsewhere"),
        rf"is outside the directories local sources may come from "
        rf"\(RXPANEL_SOURCE_ROOTS={roots / 'apps'}\); an admin allows a directory with "
        r"RXPANEL_SOURCE_ROOTS=/path",
    )
    refused(f"file://{roots / 'elsewhere'}", "is outside the directories")
    refused(str(roots / "apps-more"), "is outside the directories")  # a prefix is no parent


def test_a_symlink_out_of_the_root_is_compared_where_it_leads(roots):
    (roots / "secret").mkdir()
    (roots / "apps" / "link").symlink_to(roots / "secret")
    refused(
        str(roots / "apps" / "link"),
        rf"{roots / 'secret'} \(where {roots / 'apps' / 'link'} leads\) is outside",
    )
    (roots / "apps" / "up").symlink_to("..")
    refused(str(roots / "apps" / "up" / "secret"), "is outside the directories")


def test_the_panels_home_and_what_holds_it_are_refused(roots, monkeypatch):
    monkeypatch.setenv("RXPANEL_SOURCE_ROOTS", str(roots))  # the home is under the root
    settings.get.cache_clear()
    home = roots / "home"
    (home / "builds" / "other").mkdir(parents=True)
    refused(str(home), r"is inside the panel's home .*keys and database")
    refused(str(home / "builds" / "other"), r"is inside the panel's home")  # other workspaces
    refused(str(roots), r"holds the panel's home")
    (roots / "apps" / "home-link").symlink_to(home)
    refused(str(roots / "apps" / "home-link"), r"where .*home-link leads\) is inside")


def test_the_whole_file_system_and_devices_are_refused(roots, monkeypatch):
    monkeypatch.setenv("RXPANEL_SOURCE_ROOTS", f"{roots / 'apps'}:/dev")
    settings.get.cache_clear()
    refused("/", "is the whole file system")
    refused("/dev/zero", r"/dev/zero is not a directory")
    refused("file:///dev/zero", r"/dev/zero is not a directory")
    (roots / "apps" / "zero").symlink_to("/dev/zero")
    refused(str(roots / "apps" / "zero"), r"/dev/zero \(where .* leads\) is not a directory")
    refused(str(roots / "apps" / "missing"), "does not exist")
    (roots / "apps" / "file").write_text("x")
    refused(str(roots / "apps" / "file"), "is not a directory")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("apps", "is not an absolute directory"),
        ("/", "would allow every directory of the host"),
        ("/srv/..", "would allow every directory"),
    ],
)
def test_the_roots_setting_refuses_relative_dirs_and_the_root(value, message):
    with pytest.raises(SettingsError, match=message):
        settings.parse_roots(value)


def test_the_roots_setting_is_real_paths(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    found = settings.parse_roots(f" {tmp_path / 'link'} ::{tmp_path / 'real'}")
    assert found == (Path(os.path.realpath(tmp_path / "real")),)
