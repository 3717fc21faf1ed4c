"""`shopfn serve` on a port another program holds stops at once, in plain words, before it
migrates, simulates or trains anything (not with uvicorn's traceback after the first start)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from shop.settings import get_settings
from shopfn.serve import ServeOptions, serve


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_taken_port_stops_serve_before_it_does_anything(
    taken_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "shopfn.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    options = ServeOptions(
        commerce_port=_free_port(), ml_port=_free_port(), dashboard_port=taken_port
    )
    try:
        with pytest.raises(SystemExit) as stopped:
            serve(options)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()

    assert str(stopped.value.code) == (
        f"shopfn serve stopped: port {taken_port} on 127.0.0.1, for the dashboard, is already in "
        "use (by another program, or a shopfn serve still running). Stop that program, or "
        f"choose another port: shopfn serve --dashboard-port {taken_port + 10}"
    )
    assert not database.exists()  # nothing migrated, seeded or trained


def test_one_port_for_two_servers_is_refused_by_name() -> None:
    port = _free_port()
    with pytest.raises(SystemExit) as stopped:
        serve(ServeOptions(commerce_port=port, ml_port=port), prepare=False)
    assert str(stopped.value.code) == (
        f"shopfn serve stopped: the Commerce API and the ML API both have port {port}; give "
        f"the ML API another one: shopfn serve --ml-port {port + 10}"
    )
