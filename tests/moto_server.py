"""A moto server on 127.0.0.1 standing in for AWS / LocalStack (shared by infra and local tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from servers import free_port


@contextmanager
def moto_endpoint() -> Iterator[str]:
    """Start a threaded moto server; yield its endpoint URL (for AWS_ENDPOINT_URL)."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
