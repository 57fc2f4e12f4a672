"""Public Reflex apps nobody on this team wrote (vendored unchanged under
tests/fixtures/corpus/, see each SOURCE.md), deployed from a real git repository
to the sandbox: each is built with the Reflex line it names, not today's, and
served through nginx. bench/compat.py deploys the whole corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT, AppRepo, free_port, get

pytestmark = pytest.mark.integration

CORPUS = ROOT / "tests" / "fixtures" / "corpus"

# app, the Reflex line it resolves to, the relative SQLite file its rxconfig names
APPS = [
    # reflex-dev/reflex-examples upload: reflex>=0.8.0, rx.upload, db_url sqlite:///reflex.db
    ("upload", "0.8.", "reflex.db"),
    # (tests/fixtures/corpus/customer-data, reflex-dev/templates customer_data_app on the
    # 0.9 line, is deployed by bench/compat.py with the rest of the corpus: the suite
    # keeps one representative app within its time budget)
]


@pytest.mark.parametrize(("name", "line", "db"), APPS)
def test_a_public_app_deploys_unchanged_and_is_served(
    cli, sandbox, sandbox_server, tmp_path_factory, name, line, db
):
    repo = AppRepo(tmp_path_factory.mktemp("corpus") / name, template=CORPUS / name)
    url = f"http://127.0.0.1:{free_port()}"
    cli.ok(
        "app", "add", name, "--server", sandbox_server, "--source", str(repo.path),
        "--url", url, "--health-timeout", "120",
    )  # fmt: skip
    result = cli("deploy", name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"kept on the {line[:-1]} line" in result.stdout  # not today's Reflex

    current = Path(sandbox.deploy_root) / name / "current"
    meta = json.loads((current / "release.json").read_text())
    assert meta["reflex"].startswith(line), meta
    venv = Path(sandbox.deploy_root) / name / "venvs" / meta["requirements"]
    pinned = (venv.parent / f"{meta['requirements']}.requirements.txt").read_text()
    assert f"reflex=={meta['reflex']}" in pinned.splitlines()  # the set the server installed
    # the database its rxconfig names lives in shared/, not in the release
    assert (current / "backend" / db).is_symlink()
    shared = Path(sandbox.deploy_root) / name / "shared"
    assert (current / "backend" / db).resolve() == (shared / db).resolve()

    for accept in ("text/html,*/*;q=0.8", "*/*"):
        page = get(f"{url}/", headers={"Accept": accept})
        assert page.status_code == 200, (accept, page.status_code)
        assert "<html" in page.text.lower()
    assert get(f"{url}/ping").json() == "pong"
