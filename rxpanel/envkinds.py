"""Build-time and runtime env variables.

A runtime variable (the default) reaches only the app's env file on the servers:
changing it starts the same build again with the new env (a new release, no build).
A build-time one is also in the environment of `reflex export` and in the build
key: the operator marks it, and every REFLEX_* variable is one (Reflex reads them
while exporting). Runtime variables never reach the export, so they cannot be
baked into the bundle unnoticed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

ALWAYS_PREFIX = "REFLEX_"


def marked(keys: str | Iterable[str] | None) -> tuple[str, ...]:
    """The stored form (space separated) as a sorted tuple without duplicates."""
    if keys is None:
        return ()
    words = keys.split() if isinstance(keys, str) else keys
    return tuple(sorted(set(words)))


def is_build(key: str, build_keys: Iterable[str]) -> bool:
    return key.startswith(ALWAYS_PREFIX) or key in set(build_keys)


def build_env(env: Mapping[str, str], build_keys: Iterable[str]) -> dict[str, str]:
    """Only the build-time variables of `env`: what the export sees and the build key holds."""
    keys = set(build_keys)
    return {k: v for k, v in env.items() if is_build(k, keys)}
