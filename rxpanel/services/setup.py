"""The first admin, claimed with a one-time setup token.

While no admin exists the panel keeps a random token in `RXPANEL_HOME/setup-token`
(mode 0600, made with O_EXCL so that several workers agree on one). The panel's
startup prints it on its terminal, `rxpanel setup-token` shows it again on the
panel host, and the setup form refuses without it. It stops working the moment
an admin exists (checked in the same transaction that makes the admin), and the
file is removed then. The token never reaches a log file or client state: the
startup prints it only to a terminal, and says where to find it otherwise."""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets as pysecrets
from pathlib import Path

from rxpanel import settings
from rxpanel.models import User
from rxpanel.services import ServiceError, users

FILE_NAME = "setup-token"
WHERE = (
    "it was printed when the panel started (`make run`); `rxpanel setup-token` on the "
    "panel host shows it again, or make the first admin there with "
    "`rxpanel user add NAME --role admin`"
)


class SetupRefused(ServiceError):
    pass


def path() -> Path:
    return settings.get().home / FILE_NAME


def _read() -> str:
    try:
        return path().read_text().strip()
    except FileNotFoundError:
        return ""


def discard() -> None:
    """Forget the token (an admin exists)."""
    with contextlib.suppress(FileNotFoundError):
        path().unlink()


def ensure() -> str | None:
    """The setup token while no admin exists (made on first call), else None."""
    if users.admin_exists():
        discard()
        return None
    if token := _read():
        return token
    token = pysecrets.token_urlsafe(18)
    try:
        fd = os.open(path(), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it a moment ago
        return _read() or None
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def check(token: str) -> None:
    """Refuse a missing or wrong setup token, saying where to find the right one."""
    expected = _read()
    given = (token or "").strip()
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        what = "is wrong" if given else "is needed"
        raise SetupRefused(f"The setup token {what}: {WHERE}.")


def first_admin(token: str, username: str, password: str) -> User:
    """The first admin, only with the right token and only while no admin exists."""
    if users.admin_exists():
        raise ServiceError("setup is already done: log in instead")
    check(token)
    user = users.setup_first_admin(username, password)
    discard()
    return user
