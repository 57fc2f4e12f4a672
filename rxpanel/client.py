"""The CLI's remote mode: with RXPANEL_URL and RXPANEL_TOKEN set, commands talk to a
panel's HTTP API (/api/v1) with an API token instead of a local database."""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime


class RemoteCliError(Exception):
    pass


def configured() -> bool:
    return bool(os.environ.get("RXPANEL_URL"))


class Panel:
    def __init__(self) -> None:
        url, token = os.environ.get("RXPANEL_URL", ""), os.environ.get("RXPANEL_TOKEN", "")
        if not url.startswith(("http://", "https://")):
            raise RemoteCliError("RXPANEL_URL must be the panel's http(s) address")
        if not token:
            raise RemoteCliError("RXPANEL_URL is set but RXPANEL_TOKEN is not: issue a token first")
        import httpx  # remote mode only: every local command starts without it

        self.client = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )

    def call(self, method: str, path: str, **kw):
        import httpx

        try:
            response = self.client.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise RemoteCliError(f"cannot reach the panel: {e}") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text[:200]
            raise RemoteCliError(f"the panel says ({response.status_code}): {message}")
        return response.json()

    def follow(self, dep_id: int, printer) -> dict:
        """Print a deployment's log as it grows; the final deployment row."""
        from rxpanel.models import DEPLOY_STATES_FINAL  # sqlmodel: not for `configured()`

        after = 0
        while True:
            data = self.call("GET", f"/deployments/{dep_id}", params={"after": after})
            for row in data["logs"]:
                after = int(row["id"])
                printer(row)
            if data["deployment"]["status"] in DEPLOY_STATES_FINAL:
                return data["deployment"]
            time.sleep(0.5)


def print_row(row: dict) -> None:
    """A log line as the API gives it (created_at in ISO-8601)."""
    indent = "    " if row["level"] == "output" else ""
    out = sys.stderr if row["level"] == "error" else sys.stdout
    at = datetime.fromisoformat(row["created_at"]).strftime("%H:%M:%S")
    print(f"{at} {indent}{row['line']}", file=out, flush=True)
