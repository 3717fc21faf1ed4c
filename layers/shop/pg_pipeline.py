"""pg8000 connections that send each statement in one network round trip instead of three.

It reaches into pg8000's internals, so `shop.postgres` uses it only on the pg8000 release it
was tested with (`shop.postgres.PIPELINE_PG8000`); on any other, the shop runs on pg8000's
public API with a warning, and `make test-pg8000-newest` tests that on the newest release.
Why it is kept rather than psycopg 3: docs/architecture.md, "The PostgreSQL driver".

pg8000 (1.31) runs a statement with parameters as Parse+Sync, then Describe+Sync, then
Bind+Execute+Sync, waiting for the server after each; it opens every transaction with its
own BEGIN and ends it with a three-trip COMMIT. That is four round trips for a one-statement
transaction plus three for its commit, and round trips, not SQL, are most of a warm Lambda
request on PostgreSQL. This connection writes the same extended-protocol messages back to
back (Parse, Bind, Describe portal, Execute, Sync: what libpq's PQexecParams sends) and
reads the answers once; a BEGIN travels with the transaction's first statement.

Results, row counts and errors are pg8000's own (its message handlers parse the answers),
so SQLAlchemy sees the same DBAPI connection.

Two more costs of pg8000 are per statement, not per byte sent, and are cut here too: it scans
every SQL text character by character to turn `%s` into `$1` (now once per distinct text),
and it parses timestamps with `strptime` (now the C `fromisoformat`, with pg8000's own parser
for what that does not read, like BC dates).

By default every statement is unnamed: Parse, Bind and Execute travel in one write and end
with its Sync, so nothing outlives the statement on the server, and a transaction pooler
(PgBouncer in transaction mode, RDS Proxy) may hand each transaction to any backend.

Opt-in, on a direct connection only: with `prepare_threshold=n` a statement is kept prepared
on the server under a name from its n-th run on a connection on (psycopg prepares from the
run after its threshold: its default of 5 prepares on the 6th run). Later runs skip parsing
and planning, which for a large query (the ML features) is most of its time, and a few
tenths of a millisecond for every small one. A connection keeps at most MAX_PREPARED of
them, closing the least recently used. Named statements live in the server's backend, so
behind a transaction pooler they may be missing on the next backend (26000) and RDS Proxy
pins the session that holds them; see docs/deploy.md. When the server has lost or outdated
them (26000 after DISCARD ALL or a failover, 0A000 after a column type change) the
connection forgets every kept statement and runs the statement again, unnamed, once, if it
was the first of its transaction (nothing else has run that a retry would redo or lose).

Failures never leave a half-read answer behind: any exception while a response is read
closes the socket, so the connection cannot hand the next caller this statement's rows, and
SQLAlchemy (which sees "network error" or "connection is closed") discards it. A read that
waits longer than `read_timeout` is such an exception. `statement_timeout` is set with
`SET LOCAL` in the same write as each transaction's BEGIN: it works behind PgBouncer (which
drops startup options) and ends with the transaction. RDS Proxy may pin a session for any
SET, so there shop.db leaves it out and the database role holds the timeout instead.
"""

from __future__ import annotations

import os
from contextlib import suppress
from datetime import date, datetime
from functools import lru_cache
from struct import Struct
from typing import Any

import pg8000.legacy
from pg8000 import converters
from pg8000.converters import DATE, TIMESTAMP, TIMESTAMPTZ, make_params
from pg8000.core import (
    EXECUTE_MSG,
    IDLE,
    IN_FAILED_TRANSACTION,
    IN_TRANSACTION,
    NULL_BYTE,
    READY_FOR_QUERY,
    SYNC_MSG,
    Context,
    _flush,
    _read,
    _write,
)
from pg8000.dbapi import convert_paramstyle as _scan_paramstyle
from pg8000.exceptions import DatabaseError, InterfaceError
from sqlalchemy import event

_int32, _uint16 = Struct("!i").pack, Struct("!H").pack
_header = Struct("!ci").unpack_from
_BEGIN = "begin transaction"
_PARSE, _BIND, _DESCRIBE, _QUERY = b"P", b"B", b"D", b"Q"
_CLOSE = b"C"
_DESCRIBE_UNNAMED_PORTAL = b"P" + NULL_BYTE
#: Named statements kept per connection; the least recently used is closed past this.
MAX_PREPARED = 64
#: Statements with more parameters than this (bulk INSERTs, long IN lists) are never kept:
#: their run, not their planning, is what costs, and the server would hold large plans.
MAX_PREPARED_PARAMETERS = 256
#: SQLSTATEs of a kept statement the server no longer has (26000) or can no longer run as it
#: was prepared (0A000: "cached plan must not change result type").
_STALE_PREPARED = frozenset({"26000", "0A000"})


def _message(code: bytes, data: bytes | bytearray) -> bytes:
    return code + _int32(len(data) + 4) + data


class _KeyRecorder(dict[str, None]):
    """Stands in for a statement's parameters to learn which names it reads, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[str] = []

    def __getitem__(self, key: str) -> None:
        self.read.append(key)


@lru_cache(maxsize=512)
def _converted(style: str, query: str) -> tuple[str, tuple[str, ...] | None]:
    """`query` with `$n` placeholders, and the parameter names in order (None: positional)."""
    recorder = _KeyRecorder()
    converted, values = _scan_paramstyle(style, query, recorder)
    return converted, None if values is recorder else tuple(recorder.read)


def convert_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
    """pg8000's own conversion, scanned once per distinct (style, query) instead of per call."""
    converted, names = _converted(style, query)
    return converted, args if names is None else tuple(args[name] for name in names)


# pg8000's cursors look the converter up in their module at every execute.
pg8000.legacy.convert_paramstyle = convert_paramstyle


def _iso_first(parse: Any, fallback: Any) -> Any:
    """An adapter trying the C `fromisoformat` first, then pg8000's own parser.

    pg8000's parser reads what `fromisoformat` does not: infinity, BC, a non-ISO DateStyle.
    """

    def adapt(data: str) -> Any:
        try:
            return parse(data)
        except ValueError:
            return fallback(data)

    return adapt


_ADAPTERS = {
    TIMESTAMPTZ: _iso_first(datetime.fromisoformat, converters.timestamptz_in),
    TIMESTAMP: _iso_first(datetime.fromisoformat, converters.timestamp_in),
    DATE: _iso_first(date.fromisoformat, converters.date_in),
}


class PipelinedConnection(pg8000.legacy.Connection):
    """A pg8000 DBAPI connection whose statements each cost one round trip.

    `BEGIN` is deferred until the transaction's first statement and sent in the same write;
    a transaction that never runs a statement costs nothing to begin, commit or roll back.
    """

    _begin_pending = False
    _sock: Any  # pg8000's buffered socket file and the socket under it (None once closed)
    _usock: Any

    def __init__(
        self,
        *args: Any,
        prepare_threshold: int | None = None,
        statement_timeout: float | None = None,
        read_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        try:
            super().__init__(*args, **kwargs)
        except OSError as exc:  # a timeout during the handshake, which pg8000 lets through
            raise InterfaceError(f"network error while connecting: {exc!r}") from exc
        if read_timeout is not None and self._usock is not None:
            self._usock.settimeout(read_timeout)  # pg8000's `timeout` stays for connecting
        begin = _BEGIN
        if statement_timeout:
            begin += f"; set local statement_timeout = {max(1, round(statement_timeout * 1000))}"
        self._begin_message = _message(_QUERY, self._text(begin))
        self._threshold = prepare_threshold
        #: Runs so far of statements not prepared yet (bounded like the prepared ones).
        self._runs: dict[tuple[str, tuple[int, ...]], int] = {}
        self._prepared: dict[tuple[str, tuple[int, ...]], bytes] = {}
        self._names = 0
        # Unique per connection: behind a pooler, a name must never run another's statement.
        self._name_prefix = b"shopfn_" + os.urandom(4).hex().encode() + b"_"
        self._to_close: list[bytes] = []
        for oid, adapter in _ADAPTERS.items():
            self.register_in_adapter(oid, adapter)

    def execute_simple(self, statement: str) -> Context:
        if statement == _BEGIN and not self._begin_pending:
            self._begin_pending = True
            # pg8000 asks `_in_transaction` before each statement; the BEGIN is on its way.
            self._transaction_status = IN_TRANSACTION
            return Context(statement)
        return self._run(statement, _message(_QUERY, self._text(statement)))

    def execute_unnamed(
        self, statement: str, vals: Any = (), oids: Any = (), stream: Any = None
    ) -> Context:
        if self._begin_pending and statement in ("commit", "rollback"):
            # Nothing ran since BEGIN was asked for: there is no transaction to end.
            self._begin_pending = False
            self._transaction_status = IDLE
            return Context(statement)
        if stream is not None:  # COPY: pg8000's own exchange, after any pending BEGIN
            self._send_pending_begin()
            return super().execute_unnamed(statement, vals=vals, oids=oids, stream=stream)
        if (
            self._threshold is not None
            and 0 < len(vals) <= MAX_PREPARED_PARAMETERS
            and self._due(key := (statement, tuple(oids)))
        ):
            return self._run_prepared(key, vals)
        return self._run(statement, self._extended(statement, vals, oids))

    def _due(self, key: tuple[str, tuple[int, ...]]) -> bool:
        """Whether `key` runs prepared: it is, or this is its `prepare_threshold`-th run."""
        if key in self._prepared:
            return True
        runs = self._runs.pop(key, 0) + 1
        if self._threshold is not None and runs >= self._threshold:
            return True
        self._runs[key] = runs  # most recently run last
        if len(self._runs) > 4 * MAX_PREPARED:
            del self._runs[next(iter(self._runs))]
        return False

    def _run_prepared(self, key: tuple[str, tuple[int, ...]], vals: Any) -> Context:
        statement, oids = key
        name = self._prepared.pop(key, None)
        parse = name is None
        if name is None:
            self._names += 1
            name = self._name_prefix + b"%d" % self._names + NULL_BYTE
        first_of_transaction = self._begin_pending or self._transaction_status == IDLE
        try:
            context = self._run(statement, self._extended(statement, vals, oids, name, parse))
        except DatabaseError as exc:
            # A new statement's Parse may or may not have gone through, and an old one may be
            # gone or stale (a schema change): close it with the next write, prepare anew.
            self._to_close.append(name)
            if _sqlstate(exc) not in _STALE_PREPARED:
                raise
            self._forget_prepared()
            if not first_of_transaction:
                raise  # earlier statements of this transaction are lost with it: the caller's call
            return self._rerun_unnamed(statement, vals, oids)
        except BaseException:
            self._to_close.append(name)
            raise
        self._prepared[key] = name  # most recently used last
        if len(self._prepared) > MAX_PREPARED:
            oldest = next(iter(self._prepared))
            self._to_close.append(self._prepared.pop(oldest))
        return context

    def _forget_prepared(self) -> None:
        """Close every kept statement with the next write and count runs afresh."""
        self._to_close.extend(self._prepared.values())
        self._prepared.clear()
        self._runs.clear()

    def _rerun_unnamed(self, statement: str, vals: Any, oids: Any) -> Context:
        """Run again, unnamed, a transaction's first statement that failed before it ran."""
        if self._transaction_status == IN_FAILED_TRANSACTION:
            self._run("rollback", _message(_QUERY, self._text("rollback")))
            self._begin_pending = True
            self._transaction_status = IN_TRANSACTION
        return self._run(statement, self._extended(statement, vals, oids))

    def rollback(self) -> None:
        if self._begin_pending:
            self.execute_unnamed("rollback")
            return
        super().rollback()

    def _text(self, statement: str) -> bytes:
        return statement.encode(self._client_encoding) + NULL_BYTE

    def _extended(
        self, statement: str, vals: Any, oids: Any, name: bytes = NULL_BYTE, parse: bool = True
    ) -> bytes:
        """Parse (unless `name` is prepared already), Bind, Describe, Execute, Sync: one write."""
        messages = []
        if parse:
            parsed = bytearray(name + self._text(statement) + _uint16(len(oids)))
            for oid in oids:
                parsed += _int32(0 if oid == -1 else oid)
            messages.append(_message(_PARSE, parsed))
        params = make_params(self.py_types, vals)
        # The portal unnamed, every parameter in text format.
        bind = bytearray(NULL_BYTE + name + _uint16(0) + _uint16(len(params)))
        for value in params:
            if value is None:
                bind += _int32(-1)
            else:
                encoded = value.encode(self._client_encoding)
                bind += _int32(len(encoded)) + encoded
        bind += _uint16(0)  # every result column in text format
        return b"".join(
            (
                *messages,
                _message(_BIND, bind),
                _message(_DESCRIBE, _DESCRIBE_UNNAMED_PORTAL),
                EXECUTE_MSG,  # the unnamed portal, every row
                SYNC_MSG,
            )
        )

    def _take_pending_begin(self) -> list[tuple[Context, bytes]]:
        """The pending BEGIN as an exchange entry (none if there is none); no longer pending."""
        if not self._begin_pending:
            return []
        self._begin_pending = False
        return [(Context(_BEGIN), self._begin_message)]

    def _send_pending_begin(self) -> None:
        if begin := self._take_pending_begin():
            self._exchange(begin)

    def _run(self, statement: str, messages: bytes) -> Context:
        """The statement's answer, its `messages` sent in one write with any pending BEGIN.

        Named statements waiting to be closed go first, without a round trip of their own.
        """
        if self._to_close:
            closes = b"".join(_message(_CLOSE, b"S" + name) for name in self._to_close)
            self._to_close.clear()
            messages = closes + messages
        context = Context(statement)
        self._exchange([*self._take_pending_begin(), (context, messages)])
        return context

    def _exchange(self, exchange: list[tuple[Context, bytes]]) -> None:
        """Write every message at once, then read each answer (up to ReadyForQuery) in turn.

        Any exception on the way (a timeout, a reset, a message that would not parse) closes
        the connection: unread answers must never reach the next statement.
        """
        if self._sock is None:
            raise InterfaceError("connection is closed")
        try:
            _write(self._sock, b"".join(messages for _, messages in exchange))
            _flush(self._sock)
            # Read every answer before raising, or the next statement would read this one's.
            for context, _ in exchange:
                self._read_until_ready(context)
        except Exception as exc:
            self._abandon()
            if isinstance(exc, InterfaceError):
                raise
            # A timeout (outside pg8000's own wrapping) or a failure to read an answer: the
            # "network error" SQLAlchemy takes for a disconnect, to discard the connection.
            raise InterfaceError(f"network error: {exc!r}") from exc
        except BaseException:
            self._abandon()
            raise
        for context, _ in exchange:
            if context.error is not None:
                raise context.error

    def _abandon(self) -> None:
        """Close the socket without a goodbye: what is left unread on it is lost with it."""
        streams = (self._sock, self._usock)
        self._sock = self._usock = None
        for stream in streams:
            if stream is not None:
                with suppress(OSError):  # a buffered write may fail to flush: closed anyway
                    stream.close()

    def _read_until_ready(self, context: Context) -> None:
        code = None
        while code != READY_FOR_QUERY:
            code, length = _header(_read(self._sock, 5))
            self.message_types[code](_read(self._sock, length - 4), context)


def _sqlstate(exc: DatabaseError) -> str | None:
    details = exc.args[0] if exc.args else None
    return details.get("C") if isinstance(details, dict) else None


def install(
    engine: Any,
    *,
    prepare_threshold: int | None,
    connect_timeout: float | None = None,
    statement_timeout: float | None = None,
    set_statement_timeout: bool = True,
) -> None:
    """Make `engine` (postgresql+pg8000) connect with PipelinedConnection.

    `connect_timeout` bounds opening a connection; `statement_timeout` (seconds, None or 0:
    no limit) bounds each wait for an answer on the client at that plus `connect_timeout`
    (a connection that silently went away), and each statement on the server with SET LOCAL
    unless `set_statement_timeout` is False (the database role holds it instead).

    Also lets SQLAlchemy batch an INSERT of many rows into multi-row statements even without
    RETURNING (as it does for psycopg2): pg8000's executemany is one statement per row.
    """
    engine.dialect.use_insertmanyvalues_wo_returning = True
    read_timeout = None
    if statement_timeout:
        read_timeout = statement_timeout + (connect_timeout or 0)

    def connect(_dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        if connect_timeout is not None:
            cparams.setdefault("timeout", connect_timeout)
        return PipelinedConnection(
            *cargs,
            prepare_threshold=prepare_threshold,
            statement_timeout=statement_timeout if set_statement_timeout else None,
            read_timeout=read_timeout,
            **cparams,
        )

    event.listen(engine, "do_connect", connect)
