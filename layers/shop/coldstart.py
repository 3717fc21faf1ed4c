"""A Lambda cold start without the cyclic garbage collector walking the objects it builds."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


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
