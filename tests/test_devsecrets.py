"""Processes starting together on a fresh directory agree on the generated secrets and cooperation keys.

Found by CI: two processes of one instance (its server and a ``manage.py`` command) started at the same moment
on a fresh var/ directory each generated their own field key, and one then failed to decrypt what the other had
written. Each check below starts real processes against one fresh file, released together by a barrier.
"""

from __future__ import annotations

import json
import multiprocessing
import secrets
import tempfile
from pathlib import Path
from unittest import TestCase

PROCESSES = 8


def _secrets_worker(path: str, barrier, results) -> None:
    from utilities.devsecrets import load_or_create

    barrier.wait()
    results.put(load_or_create(Path(path), {"KEY": lambda: secrets.token_urlsafe(32), "OTHER": lambda: "x"}))


def _coop_worker(path: str, barrier, results) -> None:
    from cooperation.keys import InstanceKeys, write_key_file

    barrier.wait()
    try:
        keys = write_key_file(Path(path))
        results.put(("wrote", keys.signing_public))
    except FileExistsError:
        results.put(("read", InstanceKeys.from_json(Path(path).read_text()).signing_public))


def _run(target, path: Path) -> list:
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [ctx.Process(target=target, args=(str(path), barrier, results)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    out = [results.get(timeout=30) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0, proc.exitcode
    return out


class DevSecretsTests(TestCase):
    def test_processes_starting_together_share_one_set_of_secrets(self):
        for _attempt in range(5):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "var" / "dev-secrets.json"
                seen = _run(_secrets_worker, path)
                self.assertEqual(len({json.dumps(s, sort_keys=True) for s in seen}), 1)
                self.assertEqual(json.loads(path.read_text()), seen[0])
                self.assertEqual(path.stat().st_mode & 0o777, 0o600)

    def test_missing_secret_is_added_and_existing_ones_kept(self):
        from utilities.devsecrets import load_or_create

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "dev-secrets.json"
            path.write_text(json.dumps({"KEY": "kept"}))
            self.assertEqual(load_or_create(path, {"KEY": lambda: "new", "OTHER": lambda: "added"}),
                             {"KEY": "kept", "OTHER": "added"})  # fmt: skip
            self.assertEqual(json.loads(path.read_text()), {"KEY": "kept", "OTHER": "added"})

    def test_cooperation_key_file_is_written_once_and_never_read_half_written(self):
        for _attempt in range(5):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "coop-keys.json"
                seen = _run(_coop_worker, path)
                self.assertEqual([kind for kind, _ in seen].count("wrote"), 1)
                self.assertEqual(len({key for _, key in seen}), 1)
                self.assertEqual(path.stat().st_mode & 0o777, 0o600)
                self.assertEqual(list(Path(tmp).iterdir()), [path])
