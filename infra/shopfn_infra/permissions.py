"""Least privilege: what each function may touch beyond its database and token-verify key."""

from __future__ import annotations

from enum import StrEnum


class Grant(StrEnum):
    JWT_SIGNING = "jwt-signing"  # the private key; everyone else gets the public half only
    ARTIFACTS_READ = "artifacts-read"
    ARTIFACTS_WRITE = "artifacts-write"
    OPENAI_KEY = "openai-key"
    INVOKE_SELF = "invoke-self"  # queue an asynchronous run of itself


GRANTS: dict[str, frozenset[Grant]] = {
    "users": frozenset({Grant.JWT_SIGNING}),  # sign-in and refresh issue tokens
    "predict": frozenset({Grant.ARTIFACTS_READ}),
    "retrain": frozenset({Grant.ARTIFACTS_WRITE, Grant.INVOKE_SELF}),
    "support": frozenset({Grant.OPENAI_KEY}),
}


def grants_for(function: str) -> frozenset[Grant]:
    """The extra permissions of `function` (none for a function not listed)."""
    return GRANTS.get(function, frozenset())
