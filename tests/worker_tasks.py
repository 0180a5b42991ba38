"""A task for tests/test_workers.py only: it notes each run in a file, so the test can count them.

Lives under tests/ so the worker processes, started from the same code tree, import it by its dotted path.
"""

from __future__ import annotations

import os
import time

from django_tasks import task


@task()
def record_run(path: str, number: int) -> None:
    # O_APPEND: each line lands whole at the end of the file whichever process writes it.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{number} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    time.sleep(0.01)  # long enough for the other worker to claim the next task meanwhile
