"""Secrets generated once for a developer's, demo or test machine and kept in a file under var/ (never in git).

Several processes may start at the same moment on a fresh directory (the web server, a worker and a
``manage.py`` command): they must all end up with the same keys, or one encrypts what the others cannot read.
The file is read, completed and written under an exclusive lock, and replaced atomically, so a reader never
sees it half-written.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def load_or_create(path: Path, wanted: dict[str, Callable[[], str]]) -> dict[str, str]:
    """The secrets in ``path``, adding any of ``wanted`` that are missing (made by its callable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                data = {}
        except (OSError, ValueError):
            data = {}
        missing = [name for name in wanted if name not in data]
        if missing:
            for name in missing:
                data[name] = wanted[name]()
            write_private(path, json.dumps(data, indent=2))
        return data


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step, readable by its owner only."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
