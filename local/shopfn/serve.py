"""`shopfn serve`: both APIs on local ports, each request through the real Lambda handlers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import uvicorn

from shopfn.gateway import Gateway, close_thread_loops
from shopfn.loader import load_handler
from shopfn.manifest import Api, load_manifest

log = logging.getLogger("shopfn.serve")


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    commerce_port: int = 8001
    ml_port: int = 8000
    workers: int = 32
    dashboard_port: int | None = None  # Streamlit alongside the APIs when set
    log_format: str = "console"  # `json`: Powertools JSON logs and metrics, as in AWS

    @property
    def console(self) -> bool:
        return self.log_format == "console"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to `serve` (two servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def prepare_database() -> None:
    """Migrate, seed an empty catalog and make sure the shop has an admin.

    The admin comes from ADMIN_EMAIL/ADMIN_PASSWORD; without them, a shop with no admin gets
    `admin@shopfn.local` with a random password written to DATA_DIR/admin-credentials.txt
    (owner-only), so no password ever lives in the code. An existing customer account is
    never promoted here: the start stops with a message that says what to do.
    """
    from shop.db import session_scope
    from shop.errors import Conflict
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog
    from shop.settings import get_settings

    upgrade()
    settings = get_settings()
    with session_scope() as session:
        added = seed_catalog(session)
        if added:
            log.info("added %d starter products to the catalog", added)
        try:
            _ensure_an_admin(session, settings)
        except Conflict as exc:
            raise SystemExit(
                f"shopfn serve stopped: {exc.detail} To start with a new admin account instead, "
                "set ADMIN_EMAIL and ADMIN_PASSWORD."
            ) from exc


def _ensure_an_admin(session: Any, settings: Any) -> None:
    from shop.services.accounts import ensure_admin, has_admin

    if settings.admin_email and settings.admin_password:
        ensure_admin(session, email=settings.admin_email, password=settings.admin_password)
    elif not has_admin(session):
        email, password = "admin@shopfn.local", secrets.token_urlsafe(12)
        # reset: the password written below must be the one that works
        ensure_admin(session, email=email, password=password, reset_password=True)
        path = settings.data_dir / "admin-credentials.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"email={email}\npassword={password}\n")
        # Expected on a first start, not a warning: the startup block says where to look.
        log.info("created the admin account %s; its password is in %s", email, path)


def startup_rows(options: ServeOptions, retrain_schedule: str | None) -> list[tuple[str, str]]:
    """What the startup block shows: addresses, admin credentials, database, model store."""
    from sqlalchemy.engine import make_url

    from shop.ml.artifacts import ArtifactStore
    from shop.settings import get_settings
    from shopfn.console import admin_hint
    from shopfn.dashboard import api_url

    settings = get_settings()
    commerce = api_url(options.host, options.commerce_port)
    rows = [
        ("Commerce API", f"{commerce}  (docs: {commerce}/products/docs)"),
        ("ML API", api_url(options.host, options.ml_port)),
    ]
    if options.dashboard_port is not None:
        rows.append(("Dashboard", api_url(options.host, options.dashboard_port)))
    from_environment = bool(settings.admin_email and settings.admin_password)
    url = make_url(settings.resolved_database_url)
    database = (
        f"SQLite file {url.database}"  # a path reads better than sqlite:////...
        if url.get_backend_name() == "sqlite"
        else url.render_as_string(hide_password=True)
    )
    rows += [
        ("Admin", admin_hint(settings.data_dir, settings.admin_email, from_environment)),
        ("Database", database),
        ("Model store", ArtifactStore.from_settings().location),
        ("Retrain", _schedule_words(retrain_schedule)),
        ("Payments", _payments_words()),
    ]
    return rows


def _payments_words() -> str:
    """How the shop takes payment: Stripe, or the test mode (said plainly: no money moves)."""
    from shop.payments import in_test_mode

    if in_test_mode():
        return "test mode (no Stripe key): pay with card 4242 4242 4242 4242; no money moves"
    return "Stripe (STRIPE_SECRET_KEY)"


def share_dashboard_proxy_secret() -> str:
    """DASHBOARD_PROXY_SECRET for the functions in this process and the dashboard it starts.

    A random one for this run when unset: with it the APIs believe the browser address the
    dashboard forwards, so each shopper is throttled on their own (shop.http.dashboard_proxy).
    """
    from shop.settings import get_settings

    secret = os.environ.get("DASHBOARD_PROXY_SECRET") or secrets.token_urlsafe(32)
    os.environ["DASHBOARD_PROXY_SECRET"] = secret
    get_settings.cache_clear()
    return secret


def _schedule_words(schedule: str | None) -> str:
    if schedule is None:
        return "off (RETRAIN_SCHEDULE=off)"
    if schedule.strip().lower().startswith("every:"):
        return f"every {schedule.split(':', 1)[1].strip()} seconds"
    return f"every night at {schedule.strip()} UTC"


class _StopSignals:
    """SIGINT and SIGTERM ask both servers to finish; uvicorn sees it within its 0.1 s tick.

    Plain Python signal handlers, not `loop.add_signal_handler`: asyncio closes its wake-up
    pipe before it takes its handlers back, so a Ctrl-C in that gap (a terminal's Ctrl-C
    arrives more than once) printed "Exception ignored when trying to write to the signal
    wakeup fd" with a traceback. Setting a flag is all a handler here does.
    """

    def __init__(self) -> None:
        self.servers: Sequence[uvicorn.Server] = ()
        self.requested = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.requested = True
        self._stop_servers()

    def attach(self, servers: Sequence[uvicorn.Server]) -> None:
        """Tell these servers about a stop asked for before they existed, and any later one."""
        self.servers = servers
        if self.requested:  # only ever set: a signal between these lines must not be undone
            self._stop_servers()

    def _stop_servers(self) -> None:
        for server in self.servers:
            server.should_exit = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[_StopSignals]:
        previous = {sig: signal.signal(sig, self) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            # A shutdown that has begun finishes; SIGTERM still ends one that hangs.
            _stopping_ignores_ctrl_c()
            signal.signal(signal.SIGTERM, previous[signal.SIGTERM])


async def _serve(
    options: ServeOptions,
    stop_signals: _StopSignals,
    on_ready: Callable[[], None] | None = None,
) -> None:
    manifest = load_manifest()
    for spec in manifest.functions:  # import now: a broken function fails at start, not later
        load_handler(spec)
    executor = ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="lambda")
    ports: dict[Api, int] = {"commerce": options.commerce_port, "ml": options.ml_port}
    servers = [
        _Server(
            uvicorn.Config(
                Gateway(manifest, api, executor, access_log=options.console),
                host=options.host,
                port=port,
                # The console: uvicorn's records through our formatter, warnings only.
                log_config=None if options.console else uvicorn.config.LOGGING_CONFIG,
                log_level="warning" if options.console else "info",
                access_log=not options.console,
                lifespan="on",
            )
        )
        for api, port in ports.items()
    ]
    stop_signals.attach(servers)
    if not options.console:
        for api, port in ports.items():
            log.info("%s API on http://%s:%d", api, options.host, port)
    tasks = [asyncio.ensure_future(server.serve()) for server in servers]
    try:
        while not all(server.started for server in servers):
            # A stop came, or a server ended early (its port was taken).
            if stop_signals.requested or any(task.done() for task in tasks):
                break
            await asyncio.sleep(0.05)
        else:
            if on_ready is not None:
                on_ready()
        await asyncio.gather(*tasks)
    finally:
        # uvicorn has waited for in-flight requests: the pool is idle, its loops can close.
        executor.shutdown(wait=True, cancel_futures=True)
        close_thread_loops()


def check_ports(options: ServeOptions) -> None:
    """Stop in plain words, before any work, when a port is taken or given twice.

    Otherwise the first start would simulate and train for a while, then fail with uvicorn's
    traceback. (Port 5000 is taken on many Macs by the AirPlay Receiver, 8000 by other
    development servers.)
    """
    import errno
    import socket

    wanted = [
        ("Commerce API", "--commerce-port", options.commerce_port),
        ("ML API", "--ml-port", options.ml_port),
    ]
    if options.dashboard_port is not None:
        wanted.append(("dashboard", "--dashboard-port", options.dashboard_port))
    seen: dict[int, str] = {}
    for name, flag, port in wanted:
        if port in seen:
            raise SystemExit(
                f"shopfn serve stopped: the {seen[port]} and the {name} both have port {port}; "
                f"give the {name} another one: shopfn serve {flag} {port + 10}"
            )
        seen[port] = name
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                options.host, port, type=socket.SOCK_STREAM
            )[0]
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
                probe.bind(address)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise SystemExit(
                    f"shopfn serve stopped: it cannot listen on {options.host} port {port} for "
                    f"the {name}: {exc.strerror or exc}."
                ) from None
            raise SystemExit(
                f"shopfn serve stopped: port {port} on {options.host}, for the {name}, is "
                "already in use (by another program, or a shopfn serve still running). "
                f"Stop that program, or choose another port: shopfn serve {flag} {port + 10}"
            ) from None


@contextlib.contextmanager
def _ctrl_c_noted() -> Iterator[threading.Event]:
    """Raise KeyboardInterrupt on Ctrl-C as usual, and also note it: Python drops one raised
    while a garbage-collector callback runs ("Exception ignored in ..."), and serve would then
    go on starting as if Ctrl-C had never been pressed."""
    interrupted = threading.Event()

    def on_sigint(signum: int, frame: Any) -> None:
        interrupted.set()
        raise KeyboardInterrupt

    def quiet_when_noted(unraisable: Any) -> None:
        # Python prints the dropped KeyboardInterrupt as "Exception ignored in ...", with a
        # traceback; it is noted, so serve stops with its own one line instead.
        if not (interrupted.is_set() and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            hook(unraisable)

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: nothing to note
        yield interrupted
        return
    hook, sys.unraisablehook = sys.unraisablehook, quiet_when_noted
    try:
        yield interrupted
    finally:
        signal.signal(signal.SIGINT, previous)
        sys.unraisablehook = hook


def _stopping_ignores_ctrl_c() -> None:
    """Let the shutdown finish once it has begun: a terminal's Ctrl-C reaches `make`, `uv run`
    and this process at once, and `uv run` passes its own on, so a second SIGINT arrives while
    the servers are closing. It would break the shutdown off halfway with a KeyboardInterrupt
    (and a wrong "stopped before it was ready"). SIGTERM still ends a shutdown that hangs."""
    with contextlib.suppress(ValueError):  # only the main thread may set handlers
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def serve(options: ServeOptions, *, prepare: bool = True) -> None:
    """Run the local platform until SIGINT or SIGTERM."""
    check_ports(options)
    if options.console:
        from shopfn.console import configure_console

        configure_console()
    if prepare:
        with _ctrl_c_noted() as interrupted:
            prepare_database()
            from shopfn.simulate import seed_first_start

            seed_first_start()
        if interrupted.is_set():  # it reached a garbage-collector callback, which swallowed it
            raise KeyboardInterrupt
    from shopfn.scheduler import (
        start_check_scheduler,
        start_housekeeping_scheduler,
        start_payment_expiry_scheduler,
        start_scheduler,
    )

    scheduler = start_scheduler()
    housekeeping = start_housekeeping_scheduler()
    check = start_check_scheduler()
    expiry = start_payment_expiry_scheduler()
    from shopfn.outbox_watch import start_outbox_watcher

    outbox_watcher = start_outbox_watcher()
    dashboard = None
    if options.dashboard_port is not None:
        from shopfn.dashboard import Dashboard, api_url

        urls = {
            "COMMERCE_API_URL": api_url(options.host, options.commerce_port),
            "ML_API_URL": api_url(options.host, options.ml_port),
            "DASHBOARD_PROXY_SECRET": share_dashboard_proxy_secret(),
        }
        dashboard = Dashboard(options.dashboard_port, options.host, env=urls, quiet=options.console)
        dashboard.start()
    on_ready = None
    if options.console:
        from shopfn.console import startup_block

        rows = startup_rows(options, scheduler.schedule if scheduler is not None else None)
        on_ready = functools.partial(startup_block, rows)
    try:
        with _StopSignals().installed() as stop_signals:
            asyncio.run(_serve(options, stop_signals, on_ready))
    finally:
        if scheduler is not None:
            scheduler.stop()
        if housekeeping is not None:
            housekeeping.stop()
        if check is not None:
            check.stop()
        if expiry is not None:
            expiry.stop()
        outbox_watcher.stop()
        if dashboard is not None:
            dashboard.stop()
