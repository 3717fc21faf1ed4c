"""The function manifest (`functions/manifest.toml`): what functions exist and where they route."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

Api = Literal["commerce", "ml"]
API_NAMES: tuple[Api, ...] = ("commerce", "ml")


def project_root() -> Path:
    """The repository root (SHOPFN_ROOT overrides, e.g. for an installed copy)."""
    override = os.environ.get("SHOPFN_ROOT")
    return Path(override) if override else Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    api: Api
    prefix: str
    handler: str
    memory: int
    timeout: int
    runtime: str
    description: str = ""
    requirements: tuple[str, ...] = field(default_factory=tuple)

    @property
    def path(self) -> Path:
        """The function's source folder."""
        return project_root() / "functions" / self.name

    @property
    def handler_module(self) -> str:
        """The handler's module inside the function package, e.g. `handler`."""
        package, _, rest = self.handler.partition(".")
        if package != self.name:
            raise ValueError(f"{self.name}: handler must start with the function's package name")
        return rest.rpartition(".")[0]

    @property
    def handler_attr(self) -> str:
        return self.handler.rpartition(".")[2]

    def owns(self, path: str) -> bool:
        """True when `path` is this function's prefix or below it."""
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")


@dataclass(frozen=True)
class Manifest:
    functions: tuple[FunctionSpec, ...]

    def for_api(self, api: Api) -> tuple[FunctionSpec, ...]:
        return tuple(spec for spec in self.functions if spec.api == api)

    def route(self, api: Api, path: str) -> FunctionSpec | None:
        """The function that serves `path` on `api`: the longest matching prefix wins."""
        matches = [spec for spec in self.for_api(api) if spec.owns(path)]
        return max(matches, key=lambda spec: len(spec.prefix), default=None)

    def get(self, name: str) -> FunctionSpec:
        for spec in self.functions:
            if spec.name == name:
                return spec
        raise KeyError(name)


@lru_cache(maxsize=4)
def load_manifest(path: Path | None = None) -> Manifest:
    """Parse and check the manifest (unique names and prefixes, known APIs)."""
    import tomllib  # here: a process given its FunctionSpec (a cold-start probe) never parses

    path = path or project_root() / "functions" / "manifest.toml"
    data = tomllib.loads(path.read_text())
    defaults = data.get("defaults", {})
    specs: list[FunctionSpec] = []
    for name, raw in data.get("functions", {}).items():
        merged = {**defaults, **raw}
        if merged["api"] not in API_NAMES:
            raise ValueError(f"{name}: api must be one of {API_NAMES}")
        if not str(merged["prefix"]).startswith("/"):
            raise ValueError(f"{name}: prefix must start with '/'")
        specs.append(
            FunctionSpec(
                name=name,
                api=merged["api"],
                prefix=merged["prefix"],
                handler=merged["handler"],
                memory=int(merged["memory"]),
                timeout=int(merged["timeout"]),
                runtime=merged["runtime"],
                description=merged.get("description", ""),
                requirements=tuple(merged.get("requirements", ())),
            )
        )
    prefixes = [(spec.api, spec.prefix) for spec in specs]
    if len(set(prefixes)) != len(prefixes):
        raise ValueError("two functions claim the same prefix on one API")
    return Manifest(functions=tuple(specs))
