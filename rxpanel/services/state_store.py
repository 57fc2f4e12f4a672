"""Each app's state store password: made on first need, stored encrypted, handed
only to the worker's plan (it reaches the server's store config and the app's env
file, and is redacted from the log)."""

from __future__ import annotations

import secrets as pysecrets

from rxpanel import db, secrets
from rxpanel.models import App
from rxpanel.services import NotFound

MODES = ("server", "off")


def password(app: App) -> str:
    """The app's store password (letters and digits), made now if it has none."""
    if app.state_password_enc:
        return secrets.decrypt(app.state_password_enc)
    with db.session() as s:
        row = s.get(App, app.id)
        if row is None:
            raise NotFound(f"no app with id {app.id}")
        if row.state_password_enc:  # made meanwhile by another reader
            text = secrets.decrypt(row.state_password_enc)
        else:
            text = pysecrets.token_hex(24)
            row.state_password_enc = secrets.encrypt(text)
            s.add(row)
        app.state_password_enc = row.state_password_enc
    return text
