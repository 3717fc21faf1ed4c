"""Progress of long layer work (a training run, a backtest) for a watching command line.

The layer never imports a progress library: `shopfn` installs a bar factory with `watched_by`
around the call (`shopfn.progress.progress_bar`); in Lambda nobody does, and every call here
is a no-op. A function marks itself `@in_steps(desc, total)` and calls `advance()` after each
of its `total` steps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Any, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class Bar(Protocol):
    def update(self, n: float | None = 1) -> bool | None: ...


#: Makes a bar from (total, description, unit); the `shopfn` CLI passes its tqdm factory.
BarFactory = Callable[[int, str, str], AbstractContextManager[Bar]]

_factory: ContextVar[BarFactory | None] = ContextVar("progress_factory", default=None)
_bar: ContextVar[Bar | None] = ContextVar("progress_bar", default=None)


@contextmanager
def watched_by(factory: BarFactory) -> Iterator[None]:
    """Show the progress of the layer work run inside the block with bars from `factory`."""
    token = _factory.set(factory)
    try:
        yield
    finally:
        _factory.reset(token)


def in_steps(desc: str, total: int) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a function that calls `advance()` `total` times: a bar while it runs."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            factory = _factory.get()
            if factory is None:
                return function(*args, **kwargs)
            with factory(total, desc, "step") as bar:
                token = _bar.set(bar)
                try:
                    return function(*args, **kwargs)
                finally:
                    _bar.reset(token)

        return run

    return decorate


def advance(steps: int = 1) -> None:
    """One step of the running `in_steps` function is done (nothing when nobody watches)."""
    bar: Any = _bar.get()
    if bar is not None:
        bar.update(steps)
