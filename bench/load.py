"""Peak memory of a web worker and a mixed load of concurrent users, over HTTP against gunicorn (issue #11).

The module's top level imports nothing from Django: the locustfile (bench/locustfile.py) imports the sign-in
helpers below inside locust's gevent-patched process. Everything that touches the database is imported inside
the functions that run in ``manage.py bench_extra``.

- ``memory``: one gunicorn sync worker on the bench database; a signed-in user requests the case list, case
  pages, a person search, the map data and the statistics dashboard; the worker's peak resident memory
  (``VmHWM`` in /proc/<pid>/status) is read at the end.
- ``load``: gunicorn (by default 3 ``gthread`` workers of 4 threads: three processes for two cores, so one
  waiting on PostgreSQL leaves the CPUs to the others, and threads so a slow page does not hold a whole
  process); ``locust --headless`` on loopback, bounded in time, with one benchmark user per simulated user
  (each with its own TOTP device: a TOTP code is accepted once). Ramp-up: users arrive at ``rate`` per second
  and sign in (password and code through the real forms), timed apart. Measured window: once every user is
  in, ``seconds`` of browsing (mix and think time in bench/locustfile.py), then locust stops itself. Every
  request's time is kept, so p50/p95/p99 and errors per page kind are exact over the window.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- sign-in over HTTP (used by the locustfile too) ------------------------------------------------------


def totp_code(key_hex: str, *, step: int = 30, digits: int = 6, at: float | None = None) -> str:
    """RFC 6238 code for a django-otp TOTPDevice key (hex), as an authenticator app computes it."""
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"


def csrf_token(html: str) -> str:
    m = CSRF.search(html)
    if not m:
        raise RuntimeError("no CSRF token on the page")
    return m.group(1)


def sign_in_http(session, base: str, username: str, password: str, key_hex: str) -> None:
    """Password then TOTP code through the real forms; ``session`` is a requests.Session (or locust's client)."""
    page = session.get(f"{base}/accounts/login/", name="sign in (form)")
    r = session.post(
        f"{base}/accounts/login/",
        data={"csrfmiddlewaretoken": csrf_token(page.text), "username": username, "password": password},
        headers={"Referer": f"{base}/accounts/login/"},
        name="sign in (password)",
    )
    if "/accounts/mfa/verify/" not in r.url:
        raise RuntimeError(f"password step failed for {username} ({r.status_code})")
    r = session.post(
        r.url,
        data={"csrfmiddlewaretoken": csrf_token(r.text), "code": totp_code(key_hex)},
        headers={"Referer": r.url},
        name="sign in (code)",
    )
    if "/accounts/" in r.url:
        raise RuntimeError(f"code step failed for {username} ({r.status_code})")


# --- benchmark users and their pages ---------------------------------------------------------------------


def prepare_users(count: int, extra: dict, out: Callable[[str], None]) -> dict:
    """``count`` users (two in five investigators, the rest directors), each with a fresh password and a
    confirmed TOTP device; investigators are members of 20 of the extra cases. Returns what the locustfile
    needs (written to a private temporary file, removed after the run)."""
    import random

    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import Role, User
    from bench.people import _state_get
    from cases.models import CaseMember, Person

    setup = _state_get("setup")
    director = User.objects.get(pk=setup["director"])
    rng = random.Random(11)  # noqa: S311 - reproducible sample of cases
    users = []
    for i in range(count):
        role = "investigator" if i % 5 in (1, 3) else "director"
        name = f"bench_load_{i:03d}"
        user = User.objects.filter(username=name).first()
        if user is None:
            user = User.objects.create_user(
                username=name, password=None, agency=director.agency, email=f"{name}@example.invalid"
            )
            user.roles.set(Role.objects.filter(code=role))
        password = secrets.token_urlsafe(18)
        user.set_password(password)
        user.must_change_password = False
        user.is_active = True
        user.save()
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="bench", confirmed=True
        )
        if role == "investigator":
            cases = rng.sample(extra["cases"], 20)
            CaseMember.objects.bulk_create(
                [CaseMember(case_id=c, user=user, role="investigator") for c in cases], ignore_conflicts=True
            )
        else:
            cases = rng.sample(extra["cases"], 200)
        users.append({"username": name, "password": password, "key": device.key, "role": role, "cases": cases})
    # Search queries: names of people on the sampled cases (what a user would look for), kept in memory only
    # and handed to locust through a private temporary file deleted after the run.
    pids = list(Person.objects.filter(case_links__case_id__in=extra["cases"][:400]).values_list("pk", flat=True)[:400])
    queries = [
        f"{p.given_names} {p.family_names}"
        for p in Person.objects.filter(pk__in=pids)
        if p.given_names and p.family_names
    ]
    out(
        f"{count} load users ready ({sum(u['role'] == 'investigator' for u in users)} investigators); {len(queries)} search queries"
    )
    return {"users": users, "queries": queries}


def private_file(data: dict) -> str:
    fd, path = tempfile.mkstemp(prefix="beacon-bench-", suffix=".json")
    with os.fdopen(fd, "w") as f:  # mkstemp: mode 0600
        json.dump(data, f)
    return path


# --- gunicorn --------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, workers: int, out: Callable[[str], None], *, worker_class: str = "sync", threads: int = 1):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.out = out
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.proc: subprocess.Popen | None = None

    @property
    def label(self) -> str:
        if self.worker_class == "gthread":
            return f"{self.workers} gthread worker(s) × {self.threads} threads"
        return f"{self.workers} {self.worker_class} worker(s)"

    def __enter__(self) -> Gunicorn:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("BEACON_DEMO_MODE", None)
        cmd = [str(Path(sys.executable).parent / "gunicorn"), "beacon.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
               "--worker-class", self.worker_class, "--threads", str(self.threads), "--timeout", "120", "--log-level", "warning"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)  # noqa: S603 - our own venv's gunicorn
        deadline = time.monotonic() + 60
        import urllib.error
        import urllib.request

        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=5):  # noqa: S310 - loopback
                    break
            except urllib.error.HTTPError:
                break  # it answers (readyz-style failures are the pages' business, counted there)
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("gunicorn exited at start") from None
                time.sleep(0.3)
        else:
            self.__exit__(None, None, None)
            raise RuntimeError("gunicorn did not answer within 60 s")
        self.out(f"gunicorn ({self.label}) on {self.base}")
        return self

    def worker_pids(self) -> list[int]:
        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in kids.read_text().split()] if kids.exists() else []

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def vm_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# --- the two measurements --------------------------------------------------------------------------------


def pages_for(user: dict, queries: list[str]) -> list[tuple[str, str, dict | None]]:
    """(name, path, POST data or None) for one round of the mix."""
    out = [
        ("case list", "/cases/", None),
        ("map data", "/map/data/counts.json", None),
        ("map incidents", "/map/data/incidents.json", None),
    ]
    out += [("case detail", f"/cases/{c}/", None) for c in user["cases"][:10]]
    out += [("person search", "/people/search/", {"q": q}) for q in queries[:5]]
    if user["role"] == "director":
        out.append(("statistics dashboard", "/statistics/", None))
    return out


def memory(users: dict, out: Callable[[str], None], *, rounds: int = 5) -> dict:
    """Peak resident memory of one sync worker after ``rounds`` of the page mix (as a director)."""
    import requests

    user = next(u for u in users["users"] if u["role"] == "director")
    with Gunicorn(1, out) as g:
        [pid] = g.worker_pids()
        session = requests.Session()
        sign_in_http(_Named(session), g.base, user["username"], user["password"], user["key"])
        start_rss = vm_kib(pid, "VmRSS")
        errors = requests_done = 0
        for i in range(rounds):
            for _name, path, data in pages_for({**user, "cases": user["cases"][i * 10 :]}, users["queries"][i * 5 :]):
                if data is None:
                    r = session.get(g.base + path, timeout=120)
                else:
                    page = session.get(g.base + path, timeout=120)
                    r = session.post(
                        g.base + path,
                        data={**data, "csrfmiddlewaretoken": csrf_token(page.text)},
                        headers={"Referer": g.base + path},
                        timeout=120,
                    )
                requests_done += 1
                errors += r.status_code != 200
        peak, rss = vm_kib(pid, "VmHWM"), vm_kib(pid, "VmRSS")
    out(f"worker memory: peak {peak / 1024:.0f} MiB after {requests_done} requests ({errors} errors)")
    return {
        "peak_mib": peak / 1024,
        "rss_mib": rss / 1024,
        "start_mib": start_rss / 1024,
        "requests": requests_done,
        "errors": errors,
    }


class _Named:
    """requests.Session accepting locust's ``name=`` keyword (ignored)."""

    def __init__(self, session):
        self.session = session

    def get(self, url, name=None, **kw):
        return self.session.get(url, timeout=120, **kw)

    def post(self, url, name=None, **kw):
        return self.session.post(url, timeout=120, **kw)


def percentiles(samples: list[float]) -> dict:
    """n, p50, p95, p99 and max (linear interpolation, as bench.people.percentiles)."""
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0, "p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}

    def pct(p: float) -> float:
        k = (len(ordered) - 1) * p
        lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {"n": len(ordered), "p50": pct(0.5), "p95": pct(0.95), "p99": pct(0.99), "max": ordered[-1]}


def summarise(raw: dict) -> dict:
    """Per page kind and for all pages: percentiles and errors over the measured window; sign-ins apart."""
    window = raw.get("window")
    pages = [p for p in raw.get("pages", []) if window and window[0] <= p[3] <= window[1] + 0.5]
    kinds: dict[str, list] = {}
    for name, ms, failed, _at in pages:
        kinds.setdefault(name, []).append((ms, failed))
    rows = {
        name: {**percentiles([ms for ms, _f in v]), "errors": sum(f for _ms, f in v)}
        for name, v in sorted(kinds.items())
    }
    seconds = (window[1] - window[0]) if window else 0.0
    total = {**percentiles([p[1] for p in pages]), "errors": sum(p[2] for p in pages)}
    total["rps"] = total["n"] / seconds if seconds else 0.0
    sign_ins = raw.get("sign_ins", [])
    ramp = (window[0] - raw["ramp_started"]) if window and raw.get("ramp_started") else None
    return {
        "pages": total,
        "kinds": rows,
        "sign_in": {**percentiles([ms for ms, f in sign_ins if not f]), "errors": sum(f for _ms, f in sign_ins)},
        "ramp_seconds": ramp,
        "window_seconds": seconds,
        "outside_window": len(raw.get("pages", [])) - len(pages),
        "failures": sorted(raw.get("failures", {}).items(), key=lambda kv: -kv[1])[:10],
    }


def load(
    users: dict,
    out: Callable[[str], None],
    *,
    count: int,
    rate: float,
    seconds: int,
    think: tuple[float, float],
    workers: int,
    threads: int,
    worker_class: str,
) -> dict:
    """locust headless on loopback against gunicorn: ramp-up (sign-ins) apart, then ``seconds`` measured."""
    path = private_file(users)
    folder = Path(tempfile.mkdtemp(prefix="beacon-locust-"))
    times = folder / "times.json"
    # Hard bound: arrivals, plus two minutes for the sign-ins, plus the window, plus locust's stop timeout.
    cap = int(count / rate) + 120 + seconds
    try:
        with Gunicorn(workers, out, worker_class=worker_class, threads=threads) as g:
            cmd = [str(Path(sys.executable).parent / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                   "-u", str(count), "-r", str(rate), "-t", f"{cap}s", "--host", g.base, "--only-summary",
                   "--stop-timeout", "20", "--loglevel", "WARNING"]  # fmt: skip
            out(
                f"locust: {count} users arriving {rate}/s, think {think[0]:g}-{think[1]:g} s, {seconds} s measured (bounded at {cap} s)"
            )
            started = time.monotonic()
            env = {**os.environ, "BEACON_BENCH_USERS": path, "BEACON_BENCH_TIMES": str(times),
                   "BEACON_BENCH_EXPECTED": str(count), "BEACON_BENCH_WINDOW": str(seconds),
                   "BEACON_BENCH_THINK": f"{think[0]},{think[1]}"}  # fmt: skip
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=cap + 120)  # noqa: S603 - our own venv's locust, fixed arguments
            elapsed = time.monotonic() - started
            if not times.exists():
                raise RuntimeError(f"locust wrote no timings (exit {done.returncode}): {done.stderr[-2000:]}")
            label = g.label
        raw = json.loads(times.read_text())
        if not raw.get("window"):
            raise RuntimeError(
                f"the measured window never opened: {raw.get('signed_in')} of {count} users signed in within {cap} s"
            )
        result = summarise(raw)
        p = result["pages"]
        out(
            f"locust finished in {elapsed:.0f} s: ramp {result['ramp_seconds']:.0f} s, window {result['window_seconds']:.0f} s, "
            f"{p['n']} pages, p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms, p99 {p['p99']:.0f} ms, {p['errors']} errors; "
            f"sign-in p95 {result['sign_in']['p95']:.0f} ms"
        )
        return {
            **result,
            "users": count,
            "rate": rate,
            "seconds": seconds,
            "think": list(think),
            "server": label,
            "signed_in": raw.get("signed_in", 0),
            "exit": done.returncode,
        }
    finally:
        Path(path).unlink(missing_ok=True)
        for f in folder.glob("*"):
            f.unlink()
        folder.rmdir()
