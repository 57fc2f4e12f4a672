"""A running panel's database, read (and tidied) in this process the way the panel does it:
through rxpanel.db and the services, pointed at the panel's home for the duration."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rxpanel import db, secrets, settings

CACHES = (settings.get, db.engine, secrets._fernet)  # what settings the process has read
ENV = ("RXPANEL_HOME", "RXPANEL_DB_URL", "RXPANEL_SECRET_KEY")


@contextmanager
def panel_database(home: Path, db_url: str | None = None) -> Iterator[None]:
    """While inside, rxpanel.db and rxpanel.services.* use the database of the panel whose
    home is `home` (or db_url); before and after, whatever this process had."""
    saved = {name: os.environ.get(name) for name in ENV}
    os.environ["RXPANEL_HOME"] = str(home)
    os.environ.pop("RXPANEL_SECRET_KEY", None)  # the panel's own key file, in its home
    if db_url is None:
        os.environ.pop("RXPANEL_DB_URL", None)
    else:
        os.environ["RXPANEL_DB_URL"] = db_url
    _forget()
    try:
        yield
    finally:
        db.engine().dispose()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _forget()


def _forget() -> None:
    for cached in CACHES:
        cached.cache_clear()


def forget_users(home: Path, names: list[str]) -> None:
    """Remove users a test made, with their sessions and tokens, so that a browser story
    run later in the session finds the panel as it was. The services have no way to delete
    a user (the panel only disables them), so this goes through the panel's models."""
    from sqlmodel import delete, select

    from rxpanel.models import ApiToken, User, UserSession

    with panel_database(home), db.session() as s:
        for name in names:
            user = s.exec(select(User).where(User.username == name)).first()
            if user is not None:
                s.exec(delete(UserSession).where(UserSession.user_id == user.id))
                s.exec(delete(ApiToken).where(ApiToken.user_id == user.id))
                s.delete(user)
