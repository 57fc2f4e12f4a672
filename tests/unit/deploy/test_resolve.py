"""Which Reflex and which dependencies an app is resolved to (pure policy; uv faked)."""

from __future__ import annotations

from datetime import date

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from rxpanel.deploy import resolve
from rxpanel.deploy.resolve import Policy, ResolveError

# Upload days of real Reflex releases (PyPI), a subset.
RELEASES = {
    Version(v): date.fromisoformat(d)
    for v, d in {
        "0.6.8": "2025-01-10",
        "0.7.8a1": "2025-04-17",
        "0.7.12": "2025-05-20",
        "0.7.14": "2025-06-03",
        "0.8.0": "2025-06-30",
        "0.8.9": "2025-09-02",
        "0.8.28.post1": "2026-03-19",
        "0.9.0a3": "2026-05-01",
        "0.9.13": "2026-10-09",
        "0.10.0": "2026-10-08",
        "0.10.1": "2026-10-27",
        "0.10.2a1": "2026-11-20",
    }.items()
}


def pol(spec: str) -> Policy:
    return resolve.policy(SpecifierSet(spec), RELEASES)


def test_an_exact_pin_on_an_old_line_resolves_as_of_its_release():
    p = pol("==0.8.9")
    assert (p.exclude_newer, p.constraint) == (date(2025, 9, 16), None)
    assert p.args == ["--exclude-newer", "2025-09-16"]
    assert p.why == (
        "reflex==0.8.9: Reflex 0.8.9 (released 2025-09-02); "
        "dependencies as of 2025-09-16, when it was current"
    )


def test_a_pre_release_pin_counts_too():
    assert pol("==0.7.8a1").exclude_newer == date(2025, 5, 1)


def test_a_lower_bound_stays_on_its_line_with_the_newest_release_of_it():
    p = pol(">=0.8.0")
    assert (p.exclude_newer, p.constraint) == (date(2026, 4, 2), "reflex<0.9")
    assert "Reflex 0.8.28.post1 (released 2026-03-19), kept on the 0.8 line" in p.why
    assert pol(">=0.7.8").constraint == "reflex<0.8"
    assert pol(">=0.7.8").exclude_newer == date(2025, 6, 17)  # 0.7.14 + 14 days


def test_a_pre_release_lower_bound_takes_the_line_final_release():
    p = pol(">=0.9.0a3")
    assert (p.exclude_newer, p.constraint) == (date(2026, 10, 23), "reflex<0.10")


def test_the_current_line_resolves_with_today_releases():
    assert pol("==0.10.1") == Policy(
        None, None, "reflex==0.10.1: the current line (0.10.1), today's releases"
    )
    assert pol(">=0.10.0").exclude_newer is None
    assert resolve.policy(SpecifierSet(""), RELEASES).exclude_newer is None  # bare "reflex"


def test_only_an_upper_bound_takes_the_newest_it_allows():
    assert pol("<0.8").exclude_newer == date(2025, 6, 17)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("==0.6.8", "older than Reflex 0.7.0, which rxpanel does not build"),
        ("==0.5.99", "no Reflex release matches reflex==0.5.99: fix the pin"),
    ],
)
def test_unbuildable_pins_are_refused_in_one_sentence(spec, message):
    with pytest.raises(ResolveError, match=message):
        pol(spec)


def test_no_reflex_at_all_is_refused():
    with pytest.raises(ResolveError, match="do not name reflex: add a line such as"):
        resolve.policy(None, RELEASES)


def test_without_the_release_list_today_releases_are_used():
    assert resolve.policy(SpecifierSet("==0.8.9"), {}).exclude_newer is None


def test_reflex_spec_reads_extras_comments_and_skips_options():
    lines = ["# deps", "-r base.txt", "--index-url x", "fastapi", "Reflex[db] >= 0.8.0  # pin", ""]
    assert str(resolve.reflex_spec(lines)) == ">=0.8.0"
    assert str(resolve.reflex_spec(["reflex"])) == ""
    assert resolve.reflex_spec(["fastapi==1"]) is None


def test_parse_releases_takes_the_first_upload_and_skips_yanked():
    doc = {
        "releases": {
            "0.8.9": [
                {"upload_time": "2025-09-03T10:00:00", "yanked": False},
                {"upload_time": "2025-09-02T09:00:00", "yanked": False},
            ],
            "0.8.10": [{"upload_time": "2025-09-05T00:00:00", "yanked": True}],
            "not-a-version": [{"upload_time": "2025-01-01T00:00:00"}],
        }
    }
    assert resolve.parse_releases(doc) == {Version("0.8.9"): date(2025, 9, 2)}


def test_source_of_prefers_the_lock_then_requirements_then_pyproject(tmp_path):
    with pytest.raises(ResolveError, match="no requirements.txt, pyproject.toml or uv.lock"):
        resolve.source_of(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["reflex>=0.8.13"]\n')
    assert resolve.source_of(tmp_path) == ("pyproject.toml", ["reflex>=0.8.13"])
    (tmp_path / "requirements.txt").write_text("reflex==0.8.9\n")
    assert resolve.source_of(tmp_path) == ("requirements.txt", ["reflex==0.8.9"])
    (tmp_path / "uv.lock").write_text("version = 1\n")
    assert resolve.source_of(tmp_path) == ("uv.lock", ["reflex>=0.8.13"])


def test_a_broken_pyproject_is_named(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(ResolveError, match="pyproject.toml cannot be read .*: fix its syntax"):
        resolve.source_of(tmp_path)


def test_an_app_that_excludes_our_python_is_refused_before_the_build(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.13"\n')
    with pytest.raises(ResolveError) as e:
        resolve.check_python(tmp_path, "3.11.7")
    assert str(e.value) == (
        "the app requires Python >=3.13 (pyproject.toml) and rxpanel builds and serves "
        "with Python 3.11.7: allow 3.11.7 in requires-python"
    )
    resolve.check_python(tmp_path, "3.13.1")


def test_pinned_reflex_reads_the_resolved_set():
    assert resolve.pinned_reflex(
        b"fastapi==0.1\nreflex[db]==0.8.28.post1 ; python_version >= '3'\n"
    ) == (Version("0.8.28.post1"))
    assert resolve.pinned_reflex(b"reflex-base==0.9.1\n") is None


class FakeUv:
    def __init__(self, out: str):
        self.out, self.calls = out, []

    def __call__(self, argv, cwd, what):
        self.calls.append((argv[1:], what))
        return self.out


def test_resolve_compiles_once_with_the_policy_and_keeps_the_result(tmp_path, monkeypatch):
    monkeypatch.setattr(resolve, "releases", lambda cache, log: RELEASES)
    src, cache = tmp_path / "src", tmp_path / "cache"
    src.mkdir()
    (src / "requirements.txt").write_text("reflex>=0.8.0\nfastapi\n")
    uv, said = FakeUv("fastapi==0.115.0\nreflex==0.8.28.post1\n"), []
    first = resolve.resolve(src, cache, uv, said.append)
    assert first.requirements == b"fastapi==0.115.0\nreflex==0.8.28.post1\n"
    assert (first.reflex, first.origin) == (Version("0.8.28.post1"), "requirements.txt")
    ((argv, what),) = uv.calls
    assert argv[:4] == ["pip", "compile", "--quiet", "--no-header"]
    assert argv[-5:] == ["--exclude-newer", "2026-04-02", "-c", argv[-2], "requirements.txt"]
    assert (cache / argv[-2].rsplit("/", 1)[1]).read_text() == "reflex<0.9\n"
    assert what == "resolving the app's requirements (uv pip compile)"
    assert said[-1] == "resolved 2 packages: reflex 0.8.28.post1"
    again = resolve.resolve(src, cache, FakeUv("must not run"), said.append)
    assert again == first
    assert said[-1] == "requirements (requirements.txt): resolved before, 2 packages kept"


def test_resolve_exports_a_lock_as_it_is(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["reflex>=0.8.13"]\n')
    (tmp_path / "uv.lock").write_text("version = 1\n")
    uv = FakeUv("reflex==0.8.13\n")
    got = resolve.resolve(tmp_path, tmp_path / "cache", uv, lambda line: None)
    assert (got.reflex, got.origin) == (Version("0.8.13"), "uv.lock")
    assert uv.calls[0][0][:3] == ["export", "--frozen", "--no-hashes"]
