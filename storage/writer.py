"""SQLite's one writer: a thread that owns the only write connection and runs each unit of
work whole, in arrival order.

SQLite lets one transaction write at a time. Through SQLAlchemy's async bridge every statement
of a unit of work is a hop to aiosqlite's thread and back (dozens per filing), and that bridge,
not SQLite, was most of a filing's time. Here the unit of work is handed over once: the writer
thread runs it on its own event loop against a connection whose driver is plain, synchronous
sqlite3, so its awaits never leave the thread, and the caller awaits one future. Writers of
this process queue in arrival order (no busy-handler lottery, so no "database is locked");
SQLite's own lock, taken by BEGIN IMMEDIATE, still orders this process against others.
Readers keep their own connections (storage.database.reading) and read concurrently (WAL).
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool
from sqlalchemy.util.concurrency import await_only

from policy.effects import AuditEvent
from storage.audit import APPENDED
from storage.db import sqlite_settings

T = TypeVar("T")
Unit = Callable[[AsyncConnection], Awaitable[T]]

# Set while a unit of work or a held turn runs: another unit from inside could wait for itself.
_in_unit: contextvars.ContextVar[bool] = contextvars.ContextVar("in_unit", default=False)


class Busy(Exception):
    """No turn to write came in time; the caller may try again shortly (HTTP 503)."""


class NestedWrite(RuntimeError):
    """A write was started from inside another one; it would wait for itself forever."""


async def _done() -> None:
    return None


class _Cursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """Asked of every cursor by SQLAlchemy's async results; rows are fetched already."""


class _Connection(sqlite3.Connection):
    def cursor(self, factory: Any = _Cursor) -> Any:
        return super().cursor(factory)


class InThreadSQLiteDialect(SQLiteDialect_pysqlite):
    """sqlite3, synchronous, presented to SQLAlchemy's async API.

    The async bridge insists that an execute awaited something (a guard against a sync driver
    used by mistake). This driver is synchronous on purpose, in the writer's own thread: each
    execute hands the bridge a coroutine that is already done, which costs two greenlet
    switches and never reaches the event loop.
    """

    is_async = True
    supports_statement_cache = True

    def do_execute(self, cursor: Any, statement: Any, parameters: Any, context: Any = None) -> None:
        cursor.execute(statement, parameters)
        await_only(_done())

    def do_executemany(
        self, cursor: Any, statement: Any, parameters: Any, context: Any = None
    ) -> None:
        cursor.executemany(statement, parameters)
        await_only(_done())

    def do_execute_no_params(self, cursor: Any, statement: Any, context: Any = None) -> None:
        cursor.execute(statement)
        await_only(_done())


registry.register("sqlite.approvals_writer", __name__, "InThreadSQLiteDialect")


def unit_engine(url: str, *, writes: bool) -> AsyncEngine:
    """An engine on the same file as `url` for the threads of storage.writer; on the writer's
    (`writes`) every transaction begins IMMEDIATE, taking SQLite's write lock up front."""
    sync_url = make_url(url).set(drivername="sqlite+approvals_writer")
    sync_engine = create_sync_engine(
        sync_url, poolclass=NullPool, connect_args={"factory": _Connection}
    )
    sqlite_settings(sync_engine, all_write=writes)
    return AsyncEngine(sync_engine)


@dataclass(eq=False)
class _Job(Generic[T]):
    """One unit of work (or, with `hold`, a turn held by a `transaction()` block)."""

    unit: Unit[T] | None
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[tuple[T, list[AuditEvent]]]
    context: contextvars.Context
    state: str = "queued"  # -> "running" (the writer took it) or "abandoned" (the caller left)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)  # a held turn ended

    def take(self, new_state: str) -> bool:
        """Move from queued to `new_state`; False if the other side got there first."""
        with self.lock:
            if self.state != "queued":
                return False
            self.state = new_state
            return True

    def settle(self, result: Any = None, error: BaseException | None = None) -> None:
        def settle_on_loop() -> None:
            if self.future.done():
                return
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)

        # A closed loop raises RuntimeError: nobody is waiting any more.
        with suppress(RuntimeError):
            self.loop.call_soon_threadsafe(settle_on_loop)


class UnitThreads:
    """Threads that each own one connection and run the units of work handed to them, in
    arrival order, from one queue. Started by the first unit, stopped by `close`, which first
    finishes every unit already queued.

    `Writer` is one thread whose transactions write; `Readers` a few whose transactions only
    read (each sees one snapshot, as `Database.reading` does).
    """

    name = "sqlite-units"
    threads = 1
    writes = False

    def __init__(self, url: str) -> None:
        self._url = url
        self._jobs: queue.SimpleQueue[_Job[Any] | None] = queue.SimpleQueue()
        self._running: list[threading.Thread] = []
        self._start_lock = threading.Lock()

    async def run(self, unit: Unit[T], wait: float | None) -> tuple[T, list[AuditEvent]]:
        """Run `unit` in one transaction on a thread of this pool; its result and the audit
        events it appended. Busy if its turn has not come within `wait` seconds (it then never
        runs)."""
        job = self._submit(unit)
        return await self._await_turn(job, wait)

    async def close(self) -> None:
        running, self._running = self._running, []
        for _ in running:
            self._jobs.put(None)
        for thread in running:
            await asyncio.to_thread(thread.join)

    def _submit(self, unit: Unit[T] | None) -> _Job[T]:
        if _in_unit.get():
            raise NestedWrite("a unit of work was started inside another one")
        self._ensure_started()
        loop = asyncio.get_running_loop()
        job: _Job[T] = _Job(unit, loop, loop.create_future(), contextvars.copy_context())
        self._jobs.put(job)
        return job

    async def _await_turn(self, job: _Job[T], wait: float | None) -> tuple[T, list[AuditEvent]]:
        try:
            async with asyncio.timeout(wait):
                return await asyncio.shield(job.future)
        except TimeoutError:
            if job.take("abandoned"):
                raise Busy(f"no turn to write within {wait:g} s") from None
        except asyncio.CancelledError:
            # Still queued: it never runs. Already running: it finishes whole, and the
            # caller is told it was cancelled either way.
            job.take("abandoned")
            raise
        # A thread took it just as the wait ran out: it runs to the end, so wait for it.
        return await job.future

    def _ensure_started(self) -> None:
        with self._start_lock:
            while len(self._running) < self.threads:
                thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                thread.start()
                self._running.append(thread)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        engine = unit_engine(self._url, writes=self.writes)
        conn: AsyncConnection | None = None
        try:
            while (job := self._jobs.get()) is not None:
                if not job.take("running"):
                    continue  # the caller gave up waiting before its turn came
                if job.unit is None:  # a turn held by a transaction() block
                    job.settle((None, []))
                    job.released.wait()
                    continue
                try:
                    if conn is None:  # opened here, so a failure to open is the unit's error
                        conn = loop.run_until_complete(engine.connect())
                    outcome = job.context.run(loop.run_until_complete, _transact(conn, job.unit))
                except BaseException as error:  # the caller gets whatever the unit raised
                    job.settle(error=error)
                    if isinstance(error, DBAPIError) and conn is not None:
                        with suppress(Exception):  # the next unit starts on a fresh one
                            loop.run_until_complete(conn.close())
                        conn = None
                else:
                    job.settle(outcome)
        finally:
            if conn is not None:
                loop.run_until_complete(conn.close())
            loop.run_until_complete(engine.dispose())
            loop.close()


class Writer(UnitThreads):
    """The one writer of a SQLite database in this process."""

    name = "sqlite-writer"
    writes = True

    @staticmethod
    @contextmanager
    def marked_writing() -> Iterator[None]:
        """Marks the current task as writing while a held turn's block runs (NestedWrite)."""
        token = _in_unit.set(True)
        try:
            yield
        finally:
            _in_unit.reset(token)

    async def hold(self, wait: float) -> _Job[None]:
        """Wait for the writer's turn and keep it until `release(job)`: for a `transaction()`
        block run on the caller's own connection while the writer thread waits."""
        job: _Job[None] = self._submit(None)
        await self._await_turn(job, wait)
        return job

    @staticmethod
    def release(job: _Job[Any]) -> None:
        job.released.set()


class Readers(UnitThreads):
    """Read units: whole queries (a case with its history, say) one hop each, concurrent with
    the writer (WAL). One thread: the work is Python under the GIL, so a second reader added
    contention with the event loop (Slack acks waited longer), not throughput."""

    name = "sqlite-reader"


async def _transact(conn: AsyncConnection, unit: Unit[T]) -> tuple[T, list[AuditEvent]]:
    appended: list[AuditEvent] = []  # storage.audit.append adds this transaction's events
    _in_unit.set(True)  # inside the unit: a nested one could wait for itself
    async with conn.begin():
        conn.info[APPENDED] = appended
        result = await unit(conn)
    return result, appended
