"""`rxpanel doctor` as users run it (a separate process, its own panel home): no
server is needed, only an app whose source is a directory."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import SAMPLE_APP, AppRepo, free_port


def test_doctor_checks_out_the_sample_app_and_answers_json(cli, tmp_path):
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    cli.ok("server", "add", "doc-server", "--host", "127.0.0.1", "--key", str(key))
    cli.ok(
        "app", "add", "doc-app", "--server", "doc-server", "--source", str(SAMPLE_APP),
        "--url", "http://127.0.0.1:1", "--env", "REDIS_URL=redis://127.0.0.1:1",
    )  # fmt: skip
    before = cli.json("doctor", "doc-app")
    assert before["source"] is None and before["findings"][0]["check"] == "source"
    data = cli.json("doctor", "doc-app", "--checkout")
    assert data["source"].endswith("/doc-app/src") and data["worst"] == "WARN"
    warned = [f for f in data["findings"] if f["level"] != "PASS"]
    assert warned == [
        {
            "check": "env-names",
            "level": "WARN",
            "message": "REDIS_URL is ignored by Reflex 0.10.1 (>= 0.8 reads only "
            "REFLEX_REDIS_URL): rename it to REFLEX_REDIS_URL",
        }
    ]
    text = cli.ok("doctor", "doc-app")
    assert text.splitlines()[-1] == "doc-app: 10 passed, 1 WARN, 0 FAIL"
    refused = cli("doctor", "no-such-app")
    assert (
        refused.returncode == 1 and refused.stderr.strip() == "rxpanel: no app named 'no-such-app'"
    )


@pytest.mark.integration
def test_a_runtime_variable_the_export_reads_is_warned_about_until_marked(
    cli, sandbox_server, tmp_path
):
    """The sample app reading GREETING at import (so while its pages compile): the
    build records it, the doctor warns, and marking it build-time clears the warning."""
    repo = AppRepo(tmp_path / "sampleapp")
    repo.set_version("v1", 'import os\nGREETING_AT_IMPORT = os.environ.get("GREETING")\n')
    cli.ok(
        "app", "add", "greet-app", "--server", sandbox_server, "--source", str(repo.path),
        "--url", f"http://127.0.0.1:{free_port()}", "--env", "GREETING=hello",
        "--health-timeout", "20",
    )  # fmt: skip
    cli.ok("deploy", "greet-app")

    def export_env() -> list[dict]:
        data = cli.json("doctor", "greet-app", "--no-probe")
        return [f for f in data["findings"] if f["check"] == "export-env"]

    assert export_env() == [
        {
            "check": "export-env",
            "level": "WARN",
            "message": "GREETING is read while the frontend is exported (its value at build "
            "time is baked into the bundle) but it is a runtime variable: a change would not "
            "reach the page. Mark it build-time: rxpanel app env greet-app --mark-build GREETING",
        }
    ]
    deployment = cli.json("deployments", "greet-app")[0]["id"]
    assert "doctor: WARN export-env: GREETING is read" in cli.ok("logs", str(deployment))
    cli.ok("app", "env", "greet-app", "--mark-build", "GREETING")
    assert export_env() == [
        {
            "check": "export-env",
            "level": "PASS",
            "message": "the app's code reads GREETING (build-time) while the frontend is exported",
        }
    ]
