"""SSH key helpers shared by the services, the dashboard and the deploy engine:
parsing a private key, a key's one-line form and its fingerprint. Neutral ground,
so that reading a key does not import the deploy engine."""

from __future__ import annotations

import base64
import hashlib
import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import paramiko


def load_private_key(text: str) -> paramiko.PKey:
    """Parse an unencrypted OpenSSH/PEM private key, or raise ValueError."""
    import paramiko  # here: importing this module (services, the CLI) stays light

    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text))
        except paramiko.PasswordRequiredException:
            raise ValueError(
                "the SSH key is protected by a passphrase; use a key without one"
            ) from None
        except (paramiko.SSHException, ValueError, IndexError, TypeError):
            continue
    raise ValueError("the file is not an SSH private key (ed25519, ecdsa or rsa)")


def key_string(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.get_base64()}"


def fingerprint(key_line: str) -> str:
    """SHA256 fingerprint as `ssh-keygen -l` shows it."""
    blob = base64.b64decode(key_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def new_deploy_key() -> str:
    """A fresh ed25519 private key (OpenSSH format, no passphrase) for one app's
    clones; its public half (`public_line`) goes to the git host."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_line(private_text: str, comment: str = "") -> str:
    """The one-line public half (`ssh-ed25519 AAAA... comment`) of a private key."""
    line = key_string(load_private_key(private_text))
    return f"{line} {comment}".strip()


def secret_parts(private_text: str) -> list[str]:
    """What log redaction must hide of a private key: the whole text and each
    line of its body (output is redacted line by line)."""
    lines = [ln.strip() for ln in private_text.splitlines()]
    return [private_text, *(ln for ln in lines if ln and not ln.startswith("-----"))]
