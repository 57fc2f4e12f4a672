"""Which releases retention removes, and the hashes that key builds and venvs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rxpanel.deploy.build import build_key, env_hash, requirements_hash
from rxpanel.models import Release
from rxpanel.services.releases import KEPT, choose_removals

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def rid(n: int) -> str:
    """Release ids sort by time: rid(2) is newer than rid(1)."""
    return f"202611{n:02d}T120000-abc{n:03d}"


def rel(n: int, status: str, live_hours: float | None = None, removed: bool = False) -> Release:
    return Release(
        id=rid(n),
        app_id=1,
        commit=f"c{n}",
        build_key=f"k{n}",
        req_hash="h",
        env_enc="",
        status=status,
        live_at=None if live_hours is None else T0 + timedelta(hours=live_hours),
        removed_at=T0 if removed else None,
    )


def removed(releases: list[Release], current: int | None, keep: int) -> list[int]:
    """The numbers of the releases choose_removals picks, sorted."""
    chosen = choose_removals(releases, rid(current) if current else None, keep)
    assert len({r.id for r in chosen}) == len(chosen), "a release is chosen twice"
    assert all(any(r is c for r in releases) for c in chosen), "not one of the given releases"
    return sorted(int(r.id[6:8]) for r in chosen)


def test_kept_statuses():
    assert set(KEPT) == {"ready", "live", "good"}


def test_keeps_the_newest_usable():
    releases = [rel(n, "good", live_hours=n) for n in range(1, 6)] + [rel(6, "live", 6)]
    assert removed(releases, current=6, keep=3) == [1, 2, 3]
    assert removed(releases, current=6, keep=6) == []
    assert removed(releases, current=6, keep=10) == []


def test_ready_releases_count_as_usable():
    releases = [
        rel(1, "ready"),
        rel(2, "good", 2),
        rel(3, "live", 3),
        rel(4, "ready"),
        rel(5, "ready"),
    ]
    # 5 and 4 are the newest usable; 3 is current, 2 the previous good one
    assert removed(releases, current=3, keep=2) == [1]


def test_never_removes_current_or_the_previous_good_one():
    releases = [rel(n, "good", live_hours=n) for n in range(1, 5)] + [rel(5, "live", 5)]
    assert removed(releases, current=5, keep=1) == [1, 2, 3]


def test_previous_good_is_the_one_live_most_recently_not_the_newest():
    # 1, 2, 3 went live in turn; a rollback made 1 live again; then 4 was deployed:
    # the release to roll back to is 1, not the newer 3
    releases = [rel(1, "good", 9), rel(2, "good", 2), rel(3, "good", 3), rel(4, "live", 10)]
    assert removed(releases, current=4, keep=1) == [2, 3]


def test_current_is_kept_when_it_is_old():
    releases = [rel(n, "good", live_hours=n) for n in range(2, 7)] + [rel(1, "live", 100)]
    # newest two usable are 6 and 5; 1 is current; 6 was live last before it
    assert removed(releases, current=1, keep=2) == [2, 3, 4]


def test_current_is_kept_whatever_its_status():
    releases = [rel(1, "bad"), rel(2, "good", 2), rel(3, "ready")]
    assert removed(releases, current=1, keep=1) == []


def test_bad_and_new_releases_are_removed_and_do_not_count():
    releases = [
        rel(1, "good", 1),
        rel(2, "good", 2),
        rel(3, "bad"),
        rel(4, "live", 4),
        rel(5, "bad"),
        rel(6, "new"),
    ]
    # keep=3: the three newest *usable* are 4, 2 and 1; 5 and 6 are newer but unusable
    assert removed(releases, current=4, keep=3) == [3, 5, 6]


def test_already_removed_are_not_chosen_again():
    releases = [
        rel(1, "good", 1, removed=True),
        rel(2, "bad", removed=True),
        rel(3, "good", 3),
        rel(4, "live", 4),
    ]
    assert removed(releases, current=4, keep=1) == []
    releases.append(rel(5, "bad"))
    assert removed(releases, current=4, keep=1) == [5]


def test_without_a_current_release():
    releases = [rel(1, "good", 1), rel(2, "good", 2), rel(3, "ready"), rel(4, "bad")]
    # 3 is the newest usable, 2 the previous good one
    assert removed(releases, current=None, keep=1) == [1, 4]


def test_without_releases():
    assert choose_removals([], None, 5) == []


def test_order_of_input_does_not_matter():
    releases = [rel(n, "good", live_hours=n) for n in range(1, 6)] + [rel(6, "live", 6)]
    assert removed(list(reversed(releases)), current=6, keep=2) == [1, 2, 3, 4]
    assert removed(releases, current=6, keep=2) == [1, 2, 3, 4]


# --------------------------------------------------------------------------- hashes


def test_requirements_hash_ignores_comments_blank_lines_and_spacing():
    base = requirements_hash(b"reflex==0.8.0\nhttpx\n")
    assert len(base) == 16 and int(base, 16) >= 0
    assert requirements_hash(b"# deps\n\nreflex==0.8.0\n   \n  httpx  \n# end\n") == base
    assert requirements_hash(b"reflex==0.8.0\r\nhttpx\r\n") == base
    assert requirements_hash(b"reflex==0.8.0\nhttpx") == base


@pytest.mark.parametrize(
    "other",
    [b"reflex==0.8.1\nhttpx\n", b"reflex==0.8.0\n", b"reflex==0.8.0\nhttpx\nrich\n", b""],
)
def test_requirements_hash_changes_with_the_requirements(other):
    assert requirements_hash(other) != requirements_hash(b"reflex==0.8.0\nhttpx\n")


def test_env_hash():
    base = env_hash({"A": "1", "B": "2"})
    assert env_hash({"B": "2", "A": "1"}) == base  # order does not matter
    assert env_hash({"A": "1", "B": "3"}) != base
    assert env_hash({"A": "1"}) != base
    assert env_hash({"A": "1", "B": "2", "C": ""}) != base
    assert len(base) == 16


KEY = {
    "commit": "a" * 40,
    "req_hash": "0123456789abcdef",
    "url": "http://app.example.com",
    "env": {"A": "1"},
}


def test_build_key_is_stable():
    assert build_key(**KEY) == build_key(**{**KEY, "env": {"A": "1"}})
    assert build_key(**{**KEY, "env": {"A": "1", "B": "2"}}) == build_key(
        **{**KEY, "env": {"B": "2", "A": "1"}}
    )
    assert len(build_key(**KEY)) == 20


@pytest.mark.parametrize(
    "change",
    [
        {"commit": "b" * 40},
        {"req_hash": "fedcba9876543210"},
        {"url": "https://app.example.com"},
        {"url": "http://app.example.com:8080"},
        {"env": {"A": "2"}},
        {"env": {}},
        {"env": {"A": "1", "B": ""}},
    ],
)
def test_build_key_changes_with_each_input(change):
    assert build_key(**{**KEY, **change}) != build_key(**KEY)


def test_the_build_key_sees_only_build_time_variables():
    """Runtime variables are not in the build key (Plan.build_env is what it is given):
    REFLEX_* and the operator's marked keys are."""
    from rxpanel.envkinds import build_env

    env = {"GREETING": "hi", "FLAG": "1", "REFLEX_ACCESS_TOKEN": "t"}
    assert build_env(env, ()) == {"REFLEX_ACCESS_TOKEN": "t"}
    assert build_env(env, ("FLAG", "MISSING")) == {"FLAG": "1", "REFLEX_ACCESS_TOKEN": "t"}

    def key(env, marked=()):
        return build_key(**{**KEY, "env": build_env(env, marked)})

    assert key(env) == key({**env, "GREETING": "hello", "NEW": "x"})
    assert key(env) != key({**env, "REFLEX_ACCESS_TOKEN": "u"})
    assert key(env, ["FLAG"]) != key({**env, "FLAG": "2"}, ["FLAG"])
    assert key(env) != key(env, ["FLAG"])  # marking a key is a new build
