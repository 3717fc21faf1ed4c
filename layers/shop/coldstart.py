"""A Lambda cold start without the cyclic garbage collector walking the objects it builds."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def building_function() -> Iterator[None]:
    """Import and build a function's app with the collector paused, then freeze the result.

    Importing FastAPI, SQLAlchemy models and pydantic schemas allocates hundreds of thousands
    of long-lived objects, and the collector would sweep them again and again: about an
    eighth of the cold start. Frozen afterwards (`gc.freeze`), they are never swept by the
    collections of later invocations either. The collector is back on when the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    _no_pydantic_v1_import()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def _false_until_v1_imported(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    if getattr(check, "skips_unimported_v1", False):
        return check

    def guarded(value: Any) -> bool:
        return "pydantic.v1" in sys.modules and check(value)

    guarded.skips_unimported_v1 = True  # type: ignore[attr-defined]
    return guarded


def _no_pydantic_v1_import() -> None:
    """Spare every function the ~20 ms import of `pydantic.v1` that FastAPI makes to reject it.

    FastAPI (0.165) imports `pydantic.v1` at the first route with a response model, only to
    check that no model is a v1 model. Nothing can be one before something has imported
    `pydantic.v1`, so until then the answer is no; afterwards FastAPI's own check runs.
    """
    from fastapi import encoders
    from fastapi._compat import shared

    shared.is_pydantic_v1_model_class = _false_until_v1_imported(  # type: ignore[assignment]
        shared.is_pydantic_v1_model_class
    )
    encoders.is_pydantic_v1_model_instance = _false_until_v1_imported(  # type: ignore[assignment]
        encoders.is_pydantic_v1_model_instance
    )
