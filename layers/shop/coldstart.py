"""A Lambda cold start without the cyclic garbage collector walking the objects it builds."""

from __future__ import annotations

import functools
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def building_function() -> Iterator[None]:
    """Import and build a function's app with the collector paused, then freeze the result.

    Importing FastAPI, SQLAlchemy models and pydantic schemas allocates hundreds of thousands
    of long-lived objects, and the collector would sweep them again and again: about an
    eighth of the cold start. Frozen afterwards (`gc.freeze`), they are never swept by the
    collections of later invocations either. The collector is back on when the block ends.
    Only the standard library's `gc` is used: nothing here depends on a library's insides.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


@contextmanager
def first_use(module: str) -> Iterator[None]:
    """Around a route's import of a heavy module that a health check never needs: the first
    import runs as a cold start's does (`building_function`); once `module` is loaded,
    nothing is done."""
    if module in sys.modules:
        yield
        return
    with building_function():
        yield


def first_call_paused(function: Callable[P, R]) -> Callable[P, R]:
    """`function` whose first call runs as a cold start's import does (`building_function`).

    For a handler whose first event imports and builds much more (predict: the token check's
    and the database driver's modules, numpy, ONNX Runtime, the models): those objects live
    as long as the container, so the collector sweeping them during that event is waste.
    Later calls run with the collector as it was.
    """
    cold = True

    @functools.wraps(function)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        nonlocal cold
        if not cold:
            return function(*args, **kwargs)
        cold = False
        with building_function():
            return function(*args, **kwargs)

    return call
