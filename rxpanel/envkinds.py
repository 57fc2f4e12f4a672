"""Build-time and runtime env variables.

A runtime variable (the default) reaches only the app's env file on the servers:
changing it starts the same build again with the new env (a new release, no build).
A build-time one is also in the environment of `reflex export` and in the build
key: the operator marks it, and every REFLEX_* variable is one (Reflex reads them
while exporting). Runtime variables never reach the export, so they cannot be
baked into the bundle unnoticed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rxpanel.validate import ValidationError, env_key

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


def remark(stored: str, env: dict[str, str], build: Iterable[str], runtime: Iterable[str]) -> str:
    """The stored marks after marking `build` build-time and `runtime` runtime: only
    keys of `env`, never REFLEX_* (always build-time); clear errors for the edges."""
    build, runtime = set(build), set(runtime)
    for key in build | runtime:
        env_key(key)
        if key not in env:
            raise ValidationError(
                f"env key {key} is not set: set it first (rxpanel app env APP {key}=VALUE --build)"
            )
    if both := build & runtime:
        raise ValidationError(f"env key {min(both)} cannot be both build-time and runtime")
    for key in runtime:
        if key.startswith(ALWAYS_PREFIX):
            raise ValidationError(
                f"env key {key} is always build-time: Reflex reads REFLEX_* variables "
                "while exporting"
            )
    keys = (set(marked(stored)) | build) - runtime
    return " ".join(sorted(k for k in keys if k in env and not k.startswith(ALWAYS_PREFIX)))
