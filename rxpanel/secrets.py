"""Encryption at rest (Fernet) and redaction of secret values from text."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from functools import cache

from cryptography.fernet import Fernet, InvalidToken

from rxpanel import settings

REDACTED = "***"


class SecretError(RuntimeError):
    pass


def _key_from_passphrase(passphrase: str) -> bytes:
    """Accept a Fernet key as is, or derive one from any other passphrase."""
    try:
        if len(base64.urlsafe_b64decode(passphrase.encode())) == 32:
            return passphrase.encode()
    except ValueError:
        pass
    return base64.urlsafe_b64encode(hashlib.sha256(passphrase.encode()).digest())


def _load_or_create_key_file() -> bytes:
    path = settings.get().key_file
    if path.exists():
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


@cache
def _fernet() -> Fernet:
    passphrase = settings.get().secret_key
    key = _key_from_passphrase(passphrase) if passphrase else _load_or_create_key_file()
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as e:
        raise SecretError(
            "cannot decrypt a stored secret: RXPANEL_SECRET_KEY or the key file changed"
        ) from e


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each secret (longest first) with ***."""
    for value in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text
