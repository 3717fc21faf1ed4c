"""`shopfn import transactions`: a real shop's transaction log as customers and delivered orders.

Each line is one delivered order of the customer (see `import_rows`). Zero amounts are
purchases with no spend. A return (a negative quantity or amount) is an order with a negative
total and a negative quantity, so every sum of a customer's orders (spend, revenue, units)
goes down by what came back.

The file is streamed and written in batches inside one database transaction. With
`on_error="abort"` any bad line rolls everything back; with "skip" good lines are kept and
every bad one goes to a report with its reason. Each order keeps its line's key
(`Order.import_key`, unique), so a line seen before, in this file or an earlier import, is
skipped: importing the same file twice adds nothing.

With basket columns (`LogFormat.baskets`), lines of one invoice and customer are one order
with a line item per line, on the products their codes name (`import_baskets`).
"""

from __future__ import annotations

import csv
import gc
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Product
from shopfn.import_postgresql import StatementWriter
from shopfn.import_rows import ImportResult, RowWriter
from shopfn.progress import progress_bar
from shopfn.transaction_log import (
    DelimitedFile,
    LogFormat,
    LogUnreadable,
    Rejected,
    TransactionLog,
)

OnError = Literal["abort", "skip"]
#: Lines written per round of INSERTs: large enough to amortize round trips, small in memory.
BATCH = 5000
#: Bad lines an aborted import lists (all are counted).
LISTED_ERRORS = 1000
_Item = TypeVar("_Item")


class ImportFailed(Exception):
    """Nothing was imported; `errors` lists why (`line N: problem`), `bad_lines` counts them."""

    def __init__(self, errors: list[str], bad_lines: int = 0) -> None:
        self.bad_lines = bad_lines
        detail = f"{bad_lines} bad line(s)" if bad_lines else errors[0]
        super().__init__(detail)
        self.errors = errors


def import_transactions(
    session: Session,
    path: Path,
    log_format: LogFormat,
    *,
    on_error: OnError = "abort",
    report: Path | None = None,
) -> ImportResult:
    """Import the log at `path` and commit; ImportFailed (nothing written) otherwise.

    With "skip", rejected lines are written to `report` (CSV: line, reason, the line's fields).
    """
    product_id = session.scalar(select(Product.id).order_by(Product.id).limit(1))
    if product_id is None and log_format.product is None:
        raise ImportFailed(["the catalog is empty: run `shopfn seed` first"])
    with _sqlite_import_settings(session):
        return _import(session, path, log_format, product_id, on_error, report)


def _import(
    session: Session,
    path: Path,
    log_format: LogFormat,
    product_id: int | None,
    on_error: OnError,
    report: Path | None,
) -> ImportResult:
    result = ImportResult()
    writer = _writer(session, log_format, product_id, result)
    with undone_on_failure(session, report):
        with TransactionLog(path, log_format) as log, rejects(log, report) as reject:
            _stream(log, writer, reject, result, on_error)
        if result.errors and on_error == "abort":
            raise ImportFailed(result.errors, result.rejected)
        if result.orders + result.lines + result.repeated + result.rejected == 0:
            raise ImportFailed(["the file has no transactions"])
    writer.finish()
    session.commit()
    return result


@contextmanager
def undone_on_failure(session: Session, report: Path | None) -> Iterator[None]:
    """An import that fails leaves nothing behind: its rows rolled back, its report of bad
    lines deleted (it would describe an import that did not happen), and an unreadable file
    reported as the import's own failure."""
    try:
        yield
    except (ImportFailed, LogUnreadable) as exc:
        session.rollback()
        if report is not None:
            report.unlink(missing_ok=True)
        if isinstance(exc, LogUnreadable):
            raise ImportFailed([str(exc)]) from None
        raise


def _writer(
    session: Session, log_format: LogFormat, product_id: int | None, result: ImportResult
) -> RowWriter:
    """The writer for this database and layout."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    if not log_format.baskets:
        assert product_id is not None
        return (StatementWriter if postgresql else RowWriter)(session, product_id, result)
    from shopfn.import_baskets import BasketWriter
    from shopfn.import_baskets_postgresql import BasketStatementWriter

    writer = (BasketStatementWriter if postgresql else BasketWriter)(session, product_id, result)
    return writer.with_products() if log_format.product is not None else writer


def _stream(
    log: TransactionLog, writer: RowWriter, reject: Any, result: ImportResult, on_error: OnError
) -> None:
    """Read every line; write good ones in batches (none once an abort is certain)."""
    # SQLite works inside this process but lets go of Python's lock while it does: a thread
    # of its own overlaps its work with reading too.
    threaded = writer.session.get_bind().dialect.name in ("postgresql", "sqlite")
    with _collector_paused(), _writing(writer, threaded) as write:
        for batch in good_batches(log, log.lines(), BATCH, result, reject, on_error):
            write(writer.prepare(batch))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while lines are read and written: a batch
    makes hundreds of thousands of short-lived objects (none in cycles), and the collector
    sweeping them took a fifth of the import's CPU time. Memory stays bounded by the batch."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def good_batches(
    source: DelimitedFile,
    items: Iterable[_Item | Rejected],
    size: int,
    result: Any,
    reject: Callable[[Rejected], Any],
    on_error: OnError,
) -> Iterator[list[_Item]]:
    """The good items read from `source` in batches of `size`, with a progress bar; none once
    an abort is certain, but reading goes on to list every bad line. Each bad line is counted
    (`result.rejected`), listed (`result.errors`, the first LISTED_ERRORS) and `reject`ed."""
    batch: list[_Item] = []
    with progress_bar(source.size, "importing", unit="B") as bar:
        done = 0
        for item in items:
            if isinstance(item, Rejected):
                result.rejected += 1
                if len(result.errors) < LISTED_ERRORS:
                    result.errors.append(f"line {item.line}: {item.reason}")
                reject(item)
                continue
            if on_error == "abort" and result.rejected:
                continue
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
                bar.update(source.position() - done)
                done = source.position()
        if batch and not (on_error == "abort" and result.rejected):
            yield batch
        bar.update(source.position() - done)


@contextmanager
def _writing(writer: RowWriter, threaded: bool) -> Iterator[Callable[[Any], None]]:
    """`writer.write`, on a thread of its own when `threaded`: on PostgreSQL the server
    works on one batch while this process reads and prepares the next (half the time
    otherwise). At most two batches wait; leaving waits for the thread and raises what
    failed on it."""
    if not threaded:
        yield writer.write
        return
    batches: queue.Queue[Any] = queue.Queue(maxsize=2)
    failures: list[BaseException] = []

    def run() -> None:
        while (batch := batches.get()) is not None:
            if not failures:  # after a failure, only drain the queue
                try:
                    writer.write(batch)
                except BaseException as exc:  # re-raised on the reading thread
                    failures.append(exc)

    def write(batch: Any) -> None:
        if failures:
            raise failures[0]
        batches.put(batch)

    thread = threading.Thread(target=run, name="import-writer", daemon=True)
    thread.start()
    try:
        yield write
    finally:
        batches.put(None)
        thread.join()
    if failures:
        raise failures[0]


@contextmanager
def _sqlite_import_settings(session: Session) -> Iterator[None]:
    """On SQLite, while importing, on the import's connection only (then restored):

    - a page cache of 256 MB (not 2 MB): every batch touches index pages all over the file
      (products, customers);
    - temporary files in memory: each many-row INSERT keeps the pages it changes in a
      statement journal, to undo just that statement if it fails; on disk that journal was
      written over and over (about twice the database's size per import, most of the
      import's system time). It holds one statement's pages, a few MB at most.

    Neither changes what is written or when it is durable: the import is still one
    transaction, committed at the end or rolled back."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    connection = session.connection().connection.driver_connection
    assert connection is not None
    saved = {
        name: int(connection.execute(f"PRAGMA {name}").fetchone()[0])
        for name in ("cache_size", "temp_store")
    }
    connection.execute("PRAGMA cache_size = -262144")
    connection.execute("PRAGMA temp_store = MEMORY")
    try:
        yield
    finally:
        for name, value in saved.items():
            connection.execute(f"PRAGMA {name} = {value}")


@contextmanager
def rejects(log: DelimitedFile, report: Path | None) -> Iterator[Any]:
    """A function taking each rejected line: written to `report` when given."""
    if report is None:
        yield lambda _line: None
        return
    handle: IO[str]
    with report.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["line", "reason", *log.header])
        yield lambda line: out.writerow([line.line, line.reason, *line.fields])
