"""Writing one chunk of the plan while the next is planned.

Planning (hashing identifiers, building rows) is Python work; writing is mostly the database's
work (index entries, foreign-key checks). On PostgreSQL a writer thread takes planned chunks
from a short queue and writes them on the import's connection, so the two overlap on a machine
with two cores. Only the writer thread touches the connection until it is done.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

from campaigns.importer.plan import Plan, combined
from campaigns.importer.store import Store

QUEUED_CHUNKS = 2  # enough to keep the writer busy; more would only hold rows in memory


def write_while_planning(store: Store, plans: Iterator[Plan], progress: Callable[[int], None]) -> Plan:
    """Insert each plan's new rows as it comes, then apply all updates; the plans combined.

    `progress` hears how many people each written chunk covered. Any failure, in planning or
    writing, is raised here once the writer has stopped, for the caller to roll back.
    """
    if not store.is_postgresql:
        return _write_in_turn(store, plans, progress)
    chunks: queue.Queue[Plan | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
    failures: list[BaseException] = []
    abandoned = threading.Event()

    def write_chunks() -> None:
        while (plan := chunks.get()) is not None:
            if failures or abandoned.is_set():
                continue  # keep taking chunks so that planning never waits on a full queue
            try:
                store.write_inserts(plan)
                progress(plan.people)
            except BaseException as error:  # handed to the planning thread, which raises it
                failures.append(error)

    writer = threading.Thread(target=write_chunks, name="import-writer", daemon=True)
    planned: list[Plan] = []
    with store.bulk_writing():
        writer.start()
        try:
            for plan in plans:
                if failures:
                    break
                chunks.put(plan)
                planned.append(plan)
        except BaseException:
            abandoned.set()  # planning failed or was interrupted: write nothing more
            raise
        finally:
            chunks.put(None)
            writer.join()
        if failures:
            raise failures[0]
        everything = combined(planned)
        store.write_updates(everything)
        store.analyse_written(everything)
    return everything


def _write_in_turn(store: Store, plans: Iterator[Plan], progress: Callable[[int], None]) -> Plan:
    """SQLite: each chunk written as soon as it is planned, in this thread.

    SQLite works inside this process and takes the interpreter lock for every row, so a writer
    thread would only take turns with planning (measured slower than writing in turn).
    """
    planned: list[Plan] = []
    with store.bulk_writing():
        for plan in plans:
            store.write_inserts(plan)
            progress(plan.people)
            planned.append(plan)
        everything = combined(planned)
        store.write_updates(everything)
    return everything
