"""Import a function's handler in isolation, the way Lambda would see it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from collections.abc import Callable
from typing import Any

from shopfn.manifest import FunctionSpec

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
_lock = threading.Lock()


def module_name(spec: FunctionSpec) -> str:
    """The private module name a function is imported under locally.

    Functions are never on `sys.path`, so `import products` inside the users function
    fails here just as it fails in AWS, where the users zip holds only `users/`.
    """
    return f"_shopfn_function_{spec.name}"


def load_handler(spec: FunctionSpec) -> Handler:
    """The function's Lambda handler (imported once per process)."""
    name = module_name(spec)
    with _lock:
        if name not in sys.modules:
            init = spec.path / "__init__.py"
            module_spec = importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(spec.path)]
            )
            if module_spec is None or module_spec.loader is None:
                raise ImportError(f"cannot load function {spec.name} from {spec.path}")
            package = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = package
            try:
                module_spec.loader.exec_module(package)
            except BaseException:
                del sys.modules[name]
                raise
        module = importlib.import_module(f"{name}.{spec.handler_module}")
    handler: Handler = getattr(module, spec.handler_attr)
    return handler


def load_app(spec: FunctionSpec) -> Any:
    """The function's FastAPI app (for OpenAPI and route introspection)."""
    load_handler(spec)
    return importlib.import_module(f"{module_name(spec)}.{spec.handler_module}").app


def load_routes(spec: FunctionSpec) -> list[Any]:
    """The function's API routes as served: for access checks and fuzzing."""
    return api_routes(load_app(spec))


def api_routes(app: Any) -> list[Any]:
    """An app's API routes with their full path, methods and `dependant` (router-level
    dependencies included); FastAPI's docs routes are left out.
    """
    from fastapi.routing import APIRoute, iter_route_contexts

    return [
        context
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
    ]
