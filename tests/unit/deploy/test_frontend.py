"""deploy/frontend.py: the frontend is bundled only when what the bundler reads
changed; a kept bundle of the same compiled frontend is this build's frontend."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from rxpanel.deploy import frontend
from rxpanel.deploy.local import BuildError


def web(src: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = src / ".web" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


PAGES = {"app/routes/_index.jsx": "<h1>v1</h1>", "package-lock.json": "{}", "env.json": "{}"}


def test_the_fingerprint_reads_what_the_bundler_reads(tmp_path):
    web(tmp_path, PAGES)
    first = frontend.fingerprint(tmp_path, "req1")
    # the bundle's output, the packages, the backend's files and run timestamps do not count
    web(
        tmp_path,
        {
            "build/client/index.html": "x",
            "node_modules/a/index.js": "x",
            "backend/stateful_pages.json": "[]",
            "reflex.json": '{"last_reflex_run_datetime": "now"}',
        },
    )
    assert frontend.fingerprint(tmp_path, "req1") == first
    assert frontend.fingerprint(tmp_path, "req2") != first  # another Reflex, node, packages
    web(tmp_path, {"app/routes/_index.jsx": "<h1>v2</h1>"})
    assert frontend.fingerprint(tmp_path, "req1") != first
    web(tmp_path, {"app/routes/_index.jsx": "<h1>v1</h1>", "public/logo.svg": "<svg/>"})
    assert frontend.fingerprint(tmp_path, "req1") != first  # an asset


class Builds:
    """A fake jailed runner: 'compile' writes .web, 'bundle' writes a zip."""

    def __init__(self, src: Path, pages: dict[str, str], fail: str = ""):
        self.src, self.pages, self.fail, self.ran = src, pages, fail, []

    def run(self, argv: list[str], what: str) -> None:
        self.ran.append(what)
        if self.fail and self.fail in what:
            raise BuildError(f"{what} failed (exit 1)")
        if frontend.COMPILE in argv:
            web(self.src, self.pages)
        else:
            with zipfile.ZipFile(Path(argv[-1]) / "frontend.zip", "w") as z:
                z.writestr("index.html", self.pages["app/routes/_index.jsx"])

    def export_all(self, out: Path) -> None:
        self.ran.append("reflex export --frontend-only")
        with zipfile.ZipFile(out / "frontend.zip", "w") as z:
            z.writestr("index.html", "all in one")


def build(tmp_path: Path, n: int, builds: Builds, lines: list[str]) -> Path:
    out = tmp_path / f"out{n}"
    out.mkdir()
    frontend.export(
        src=builds.src,
        python=Path("/venv/bin/python"),
        out=out,
        kept=tmp_path / "frontends",
        req_hash="req",
        build=f"key{n}",
        commit=f"{n}" * 40,
        run=builds.run,
        export_all=lambda: builds.export_all(out),
        log=lines.append,
    )
    return out


def test_a_second_build_of_the_same_compiled_frontend_reuses_the_bundle(tmp_path):
    src, lines = tmp_path / "src", []
    first = build(tmp_path, 1, Builds(src, PAGES), lines)
    assert lines[-1].startswith("frontend changed (or not bundled before): bundling (")
    again = Builds(src, PAGES)
    second = build(tmp_path, 2, again, lines)
    assert again.ran == ["reflex compile (frontend)"]  # the bundler did not run
    assert lines[-1] == (
        "frontend unchanged: reused the bundle of build key1 (commit 111111111111); "
        "the bundler did not run"
    )
    assert (second / "frontend.zip").read_bytes() == (first / "frontend.zip").read_bytes()

    changed = Builds(src, {**PAGES, "app/routes/_index.jsx": "<h1>v2</h1>"})
    third = build(tmp_path, 3, changed, lines)
    assert changed.ran == ["reflex compile (frontend)", "reflex export (frontend)"]
    assert zipfile.ZipFile(third / "frontend.zip").read("index.html") == b"<h1>v2</h1>"


def test_only_the_newest_bundles_are_kept(tmp_path):
    src, lines = tmp_path / "src", []
    for n in range(frontend.KEEP + 2):
        build(tmp_path, n, Builds(src, {**PAGES, "app/x.jsx": str(n)}), lines)
    kept = [p for p in (tmp_path / "frontends").iterdir()]
    assert len(kept) == frontend.KEEP
    assert all(json.loads((p / "meta.json").read_text())["build"] for p in kept)


@pytest.mark.parametrize("fail", ["reflex compile", "reflex export (frontend)"])
def test_when_compiling_or_bundling_alone_fails_reflex_export_does_it_all(tmp_path, fail):
    src, lines = tmp_path / "src", []
    builds = Builds(src, PAGES, fail=fail)
    out = build(tmp_path, 1, builds, lines)
    assert builds.ran[-1] == "reflex export --frontend-only"
    assert zipfile.ZipFile(out / "frontend.zip").read("index.html") == b"all in one"
    assert any("bundling with reflex export" in line for line in lines)
