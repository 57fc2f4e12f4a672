"""`rxpanel doctor` as users run it (a separate process, its own panel home): no
server is needed, only an app whose source is a directory."""

from __future__ import annotations

import subprocess

from tests.conftest import SAMPLE_APP


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
