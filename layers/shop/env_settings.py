"""Settings read from the environment with plain pydantic: each field from its variable."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


class EnvSettings(BaseModel):
    """A model whose fields come from the environment variable of the same name, in any case
    (`DATABASE_URL` for `database_url`); a value given to the constructor wins.

    pydantic-settings did the same, at about 20 ms of every cold start for its sources
    (dotenv, the CLI parser, secrets directories) that shopfn never used. Only flat values
    are read: strings, numbers, booleans, paths, literals.
    """

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _from_environment(cls, given: Any) -> Any:
        if not isinstance(given, dict):
            return given
        wanted = set(cls.model_fields)
        found = {key.lower(): value for key, value in os.environ.items() if key.lower() in wanted}
        return {**found, **given}
