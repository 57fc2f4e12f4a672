"""Each app's deploy key: an ed25519 key made for it, the only SSH identity its
clones use. The private half is stored encrypted and leaves the services only for
the build (the worker's plan, the doctor's checkout, the push check's fetch); the
public half is shown to paste into the git host. An app made before keys existed
gets one the first time one is needed."""

from __future__ import annotations

from functools import lru_cache

from rxpanel import db, secrets, sshkeys
from rxpanel.models import App
from rxpanel.services import NotFound


def comment(app: App) -> str:
    return f"rxpanel-{app.name}"


def private(app: App, *, new: bool = False) -> str:
    """The app's private key (made now if it has none, or with `new`)."""
    if app.deploy_key_enc and not new:
        return secrets.decrypt(app.deploy_key_enc)
    with db.session() as s:
        row = s.get(App, app.id)
        if row is None:
            raise NotFound(f"no app with id {app.id}")
        if row.deploy_key_enc and not new:  # made meanwhile by another reader
            text = secrets.decrypt(row.deploy_key_enc)
        else:
            text = sshkeys.new_deploy_key()
            row.deploy_key_enc = secrets.encrypt(text)
            s.add(row)
        app.deploy_key_enc = row.deploy_key_enc
    return text


def public(app: App, *, new: bool = False) -> str:
    """`ssh-ed25519 AAAA... rxpanel-<app>`: what the git host is given."""
    if new or not app.deploy_key_enc:
        private(app, new=new)  # made and stored: app.deploy_key_enc is set
    return _public_of(app.deploy_key_enc, comment(app))


@lru_cache(maxsize=256)
def _public_of(token: str, note: str) -> str:
    """The public line of a stored key (the app page asks for it at every refresh)."""
    return sshkeys.public_line(secrets.decrypt(token), note)
