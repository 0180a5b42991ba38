"""`manage.py beacon_worker`: Beacon's background worker (issue #3).

Each cycle enqueues the periodic checks (overdue acknowledgements and screenings, escalations) when they are
due, runs every task waiting in the database queue (emails, the checks), then sleeps. `--once` runs one
cycle and exits, for cron and tests. Several workers may share one database: django_tasks_db's claim gives
each task to one worker, the periodic checks are enqueued at most once at a time, and every task is
idempotent. SIGTERM or SIGINT lets the running task finish, then exits; a second signal stops at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import DatabaseError, OperationalError, close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.compat import DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME, TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker, valid_backend_name, valid_interval
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

logger = logging.getLogger("alerts.worker")

# Names the advisory lock that makes "is a check already queued? if not, queue one" atomic on PostgreSQL
# (SQLite's IMMEDIATE transactions already serialise writers). Any constant will do.
_PG_PERIODIC_LOCK = 0x6265_6163_0003
# A check still marked running after this long belongs to a worker that died; it no longer blocks new ones.
STALE_RUNNING = timedelta(minutes=15)
# Tasks run per cycle at most, so a flood of emails never starves the periodic checks.
TASKS_PER_CYCLE = 200


def enqueue_periodic_checks(*, backend_name: str = DEFAULT_TASK_BACKEND_ALIAS, min_gap_seconds: float = 0) -> bool:
    """Queue `run_periodic_checks` unless one is already waiting or running (or, with ``min_gap_seconds``,
    was queued that recently by any worker). Returns whether it queued one."""
    from alerts.tasks import run_periodic_checks

    task = run_periodic_checks.using(backend=backend_name)
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_PERIODIC_LOCK])
        busy = Q(status=TaskResultStatus.READY) | Q(
            status=TaskResultStatus.RUNNING, started_at__gte=now - STALE_RUNNING
        )
        if min_gap_seconds:
            busy |= Q(enqueued_at__gte=now - timedelta(seconds=min_gap_seconds))
        if DBTaskResult.objects.filter(busy, task_path=task.module_path, backend_name=backend_name).exists():
            return False
        task.enqueue()
    return True


class QueueWorker(Worker):
    """django_tasks_db's Worker (its claim, its task runner), draining the queue once per call.

    Its own `run()` loop is not used: it calls `close_old_connections()` between tasks, which drops a
    connection that is inside a transaction (a test's, or a caller's), and it installs its own exit-on-signal
    handling. The cycle, the sleeping and the signals belong to the command below."""

    def drain(self, limit: int | None = None) -> int:
        ran = 0
        while self.running and (limit is None or ran < limit):
            tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name, queue_name__in=self.queue_names)
            try:
                with exclusive_transaction(tasks.db):
                    task_result = tasks.get_locked()
                    if task_result is not None:
                        # Claimed in the same transaction that found it: no other worker runs it.
                        task_result.claim(self.worker_id)
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                time.sleep(0.1)  # another SQLite writer holds the lock; it lets go soon
                continue
            if task_result is None:
                break
            self.run_task(task_result)
            ran += 1
        return ran


class Command(BaseCommand):
    help = "Run Beacon's background worker: emails, overdue checks and escalations (issue #3)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Run one cycle (periodic checks, then every queued task) and exit."
        )
        parser.add_argument(
            "--interval",
            type=valid_interval,
            default=5.0,
            help="Seconds to sleep between cycles (default: %(default)s).",
        )
        parser.add_argument(
            "--periodic-seconds",
            type=valid_interval,
            default=60.0,
            help="Seconds between two runs of the periodic checks (default: %(default)s).",
        )
        parser.add_argument(
            "--queue-name", default=DEFAULT_TASK_QUEUE_NAME, help="Queue to process (default: %(default)s)."
        )
        parser.add_argument(
            "--backend",
            default=DEFAULT_TASK_BACKEND_ALIAS,
            type=valid_backend_name,
            dest="backend_name",
            help="Task backend to process (default: %(default)s).",
        )
        parser.add_argument(
            "--worker-id",
            default="",
            help="Unique name of this worker (default: host, process id and a random suffix).",
        )

    def handle(
        self,
        *,
        once: bool,
        interval: float,
        periodic_seconds: float,
        queue_name: str,
        backend_name: str,
        worker_id: str,
        verbosity: int,
        **options,
    ) -> None:
        worker_id = worker_id or f"{socket.gethostname()[:32]}-{os.getpid()}-{get_random_string(8)}"
        self.stopping = threading.Event()
        self.worker = QueueWorker(
            queue_names=[queue_name],
            interval=0,
            batch=True,
            backend_name=backend_name,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        previous = self._install_signal_handlers()
        logger.info("beacon_worker %s started (queue %s)", worker_id, queue_name)
        total = 0
        try:
            next_check = 0.0
            while not self.stopping.is_set():
                try:
                    if not connection.in_atomic_block:
                        close_old_connections()  # a dropped database connection is reopened, not fatal
                    if once or time.monotonic() >= next_check:
                        # The gap keeps several workers from each running the checks once per period.
                        gap = 0 if once else periodic_seconds * 0.9
                        enqueue_periodic_checks(backend_name=backend_name, min_gap_seconds=gap)
                        next_check = time.monotonic() + periodic_seconds
                    ran = self.worker.drain(limit=None if once else TASKS_PER_CYCLE)
                except DatabaseError:
                    if once:
                        raise
                    logger.exception("beacon_worker %s: database error, retrying after %ss", worker_id, interval)
                    ran = 0
                total += ran
                if once:
                    break
                if ran < TASKS_PER_CYCLE:
                    self.stopping.wait(interval)
        finally:
            self._restore_signal_handlers(previous)
        logger.info("beacon_worker %s stopped after %s tasks", worker_id, total)
        if verbosity >= 1 and once:
            self.stdout.write(f"{total} tasks run.")

    def _on_signal(self, signum, frame) -> None:
        if self.stopping.is_set():
            logger.warning("%s again: stopping now", signal.strsignal(signum))
            raise SystemExit(1)
        logger.warning(
            "%s: finishing the current task, then stopping (send it again to stop now)", signal.strsignal(signum)
        )
        self.stopping.set()
        self.worker.running = False

    def _install_signal_handlers(self) -> dict:
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            try:
                previous[sig] = signal.signal(sig, self._on_signal)
            except ValueError:  # not the main thread (called from code): the caller handles signals
                pass
        return previous

    def _restore_signal_handlers(self, previous: dict) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
