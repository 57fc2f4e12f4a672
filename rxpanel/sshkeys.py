"""SSH key helpers shared by the services, the dashboard and the deploy engine:
parsing a private key, a key's one-line form and its fingerprint. Neutral ground,
so that reading a key does not import the deploy engine."""

from __future__ import annotations

import base64
import hashlib
import io

import paramiko

KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def load_private_key(text: str) -> paramiko.PKey:
    """Parse an unencrypted OpenSSH/PEM private key, or raise ValueError."""
    for cls in KEY_CLASSES:
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
