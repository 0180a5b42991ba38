"""Several task workers on one queue run every task exactly once (issue #11).

Two real `manage.py beacon_worker` processes share one database: a temporary SQLite file (WAL) or, when
DATABASE_URL names PostgreSQL, a temporary database on that server. 200 tasks are queued at once; each writes a
line naming itself and its worker's process id. Every task must appear once, and both workers must have worked.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from django.test import SimpleTestCase

from utilities.env import parse_database_url

ROOT = Path(__file__).resolve().parent.parent
TASKS = 200

ENQUEUE = """
import sys, django
django.setup()
from django.db import transaction
from tests.worker_tasks import record_run
with transaction.atomic():  # all at once, so both workers find a full queue
    for number in range(int(sys.argv[2])):
        record_run.enqueue(sys.argv[1], number)
"""

RESULTS = """
import json, django
django.setup()
from django_tasks_db.models import DBTaskResult
rows = DBTaskResult.objects.filter(task_path="tests.worker_tasks.record_run").values_list("status", "worker_ids")
print(json.dumps([[status, list(ids)] for status, ids in rows]))
"""


class TemporaryDatabase:
    """A database of its own for the workers: never the suite's test database, never `test_beacon`."""

    def __init__(self, directory: Path):
        self.url = os.environ.get("DATABASE_URL", "")
        self.postgres = self.url.split(":", 1)[0] in {"postgres", "postgresql", "pgsql"}
        self.name = f"beacon_workers_{uuid.uuid4().hex[:10]}"
        if not self.postgres:
            self.url = f"sqlite:///{directory / 'workers.sqlite3'}"

    def _admin(self, sql: str) -> None:
        import psycopg

        config = parse_database_url(self.url, base_dir=ROOT)
        with psycopg.connect(
            dbname="postgres", user=config["USER"], password=config["PASSWORD"], host=config["HOST"] or None,
            port=config["PORT"] or None, autocommit=True,
        ) as conn:  # fmt: skip
            conn.execute(sql)

    def __enter__(self) -> str:
        if self.postgres:
            self._admin(f'CREATE DATABASE "{self.name}"')
            base = self.url.rsplit("/", 1)[0]
            return f"{base}/{self.name}"
        return self.url

    def __exit__(self, *exc) -> None:
        if self.postgres:
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.mark.slow
class TwoWorkersTests(SimpleTestCase):
    def manage(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def python(self, script: str, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", script, *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        return result

    def start_worker(self, name: str, log: Path) -> subprocess.Popen:
        handle = log.open("w")
        self.addCleanup(handle.close)
        worker = subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "beacon_worker", "--worker-id", name, "--interval", "0.2"],
            cwd=ROOT, env=self.env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.addCleanup(self.stop, worker)
        return worker

    @staticmethod
    def stop(worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(timeout=10)

    def wait_for(self, condition, seconds: float, message) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        self.fail(message())

    def test_two_workers_run_every_task_exactly_once(self):
        with tempfile.TemporaryDirectory() as tmp, TemporaryDatabase(Path(tmp)) as url:
            tmp = Path(tmp)
            self.env = {
                **os.environ, "BEACON_ENV": "test", "DATABASE_URL": url, "BEACON_VAR_DIR": str(tmp),
                "MEDIA_ROOT": str(tmp / "media"), "DJANGO_SETTINGS_MODULE": "beacon.settings",
            }  # fmt: skip
            self.env.pop("DATABASE_REPLICA_URL", None)
            migrated = self.manage("migrate", "--noinput", "-v", "0")
            self.assertEqual(migrated.returncode, 0, migrated.stderr)

            logs = {name: tmp / f"{name}.log" for name in ("w1", "w2")}
            workers = {name: self.start_worker(name, log) for name, log in logs.items()}
            self.wait_for(
                lambda: all("started" in log.read_text() for log in logs.values()),
                60,
                lambda: "workers did not start:\n" + "\n".join(log.read_text() for log in logs.values()),
            )

            runs = tmp / "runs.txt"
            runs.touch()
            self.python(ENQUEUE, str(runs), str(TASKS))

            def lines() -> list[str]:
                return runs.read_text().splitlines()

            self.wait_for(
                lambda: len(lines()) >= TASKS,
                120,
                lambda: f"{len(lines())} of {TASKS} tasks ran:\n" + "\n".join(log.read_text() for log in logs.values()),
            )
            time.sleep(1)  # a second run of any task would show up now
            for worker in workers.values():
                self.stop(worker)
                self.assertEqual(worker.returncode, 0)

            numbers = Counter(int(line.split()[0]) for line in lines())
            self.assertEqual(set(numbers), set(range(TASKS)))
            self.assertEqual({n: c for n, c in numbers.items() if c != 1}, {}, "tasks that ran more than once")
            pids = Counter(line.split()[1] for line in lines())
            self.assertEqual(set(pids), {str(w.pid) for w in workers.values()}, "both workers should have run tasks")

            # The queue agrees: every task finished, each claimed by exactly one worker.
            results = json.loads(self.python(RESULTS).stdout)
            self.assertEqual(len(results), TASKS)
            self.assertEqual({status for status, _ in results}, {"SUCCESSFUL"})
            self.assertEqual({len(ids) for _, ids in results}, {1})
            self.assertEqual({ids[0] for _, ids in results}, {"w1", "w2"})
