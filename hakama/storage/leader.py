"""Locks that one process at a time holds for as long as it lives: which of several hakama
processes runs the background jobs (the leader), which one runs the MQTT subscriber of a client
id.

PostgreSQL: a session advisory lock on a connection kept open for the purpose; the server
releases it when that session ends, including when the holding process is killed (the kernel
closes its socket). SQLite: an `flock` on a file beside the database; the kernel releases it
when the process ends, however it ends. So a survivor takes over from a dead holder by trying
again, with no lease to expire and no clock to trust.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from pathlib import Path

import sqlalchemy as sa

from hakama.storage.db import ADVISORY_LOCKS

#: The first key of two-key advisory locks (`pg_try_advisory_lock(int, int)`); the second is
#: the lock name's CRC-32, so any name (an MQTT client id) has its own lock.
NAMED_LOCK_SPACE = 7243199


class ProcessLock:
    """A named lock held by one process at a time until it releases it or dies."""

    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self._guard: sa.Connection | None = None
        self._fd: int | None = None

    # PostgreSQL -------------------------------------------------------------------------

    def _keys(self) -> tuple[str, dict[str, int]]:
        if self.name in ADVISORY_LOCKS:
            return "(:key)", {"key": ADVISORY_LOCKS[self.name]}
        crc = zlib.crc32(self.name.encode()) - 2**31  # into int4's range
        return "(:space, :key)", {"space": NAMED_LOCK_SPACE, "key": crc}

    def _pg_acquire(self) -> bool:
        args, params = self._keys()
        guard = self.engine.connect()
        try:
            got = bool(
                guard.execute(sa.text(f"SELECT pg_try_advisory_lock{args}"), params).scalar()
            )
            guard.commit()
        except Exception:
            guard.close()
            raise
        if got:
            self._guard = guard
        else:
            guard.close()
        return got

    # SQLite -----------------------------------------------------------------------------

    def lock_file(self) -> Path | None:
        """The file whose `flock` is the lock (SQLite); None for an in-memory database."""
        database = self.engine.url.database
        if not database or database == ":memory:":
            return None
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.name)
        return Path(f"{database}.{safe}.lock")

    def _file_acquire(self) -> bool:
        path = self.lock_file()
        if path is None:
            self._fd = -1  # one process owns an in-memory database
            return True
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    # both -------------------------------------------------------------------------------

    @property
    def postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """Take the lock if no other process holds it; never waits. True if held now."""
        if self.held_here:
            return True
        return self._pg_acquire() if self.postgresql else self._file_acquire()

    @property
    def held_here(self) -> bool:
        return self._guard is not None or self._fd is not None

    def still_held(self) -> bool:
        """Is the lock still ours? (PostgreSQL: the session that holds it still answers; a
        connection lost to a network fault or a server restart lost the lock with it.)"""
        if self._guard is None:
            return self._fd is not None
        try:
            self._guard.execute(sa.text("SELECT 1")).scalar()
            self._guard.commit()
            return True
        except Exception:
            self._drop_guard()
            return False

    def release(self) -> None:
        if self._guard is not None:
            args, params = self._keys()
            try:
                self._guard.execute(sa.text(f"SELECT pg_advisory_unlock{args}"), params)
                self._guard.commit()
            except Exception:  # the session is gone, and the lock with it
                pass
            self._drop_guard()
        if self._fd is not None:
            if self._fd >= 0:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
            self._fd = None

    def _drop_guard(self) -> None:
        guard, self._guard = self._guard, None
        if guard is not None:
            with contextlib.suppress(Exception):  # never back into the pool: it may hold the lock
                guard.invalidate()
            guard.close()
