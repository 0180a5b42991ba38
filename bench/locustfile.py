"""Mixed load for ``manage.py bench_extra --only load`` (issue #11): run by bench/load.py, not by hand.

Each simulated user takes one benchmark account (from the private file named by BEACON_BENCH_USERS) and signs
in once with password and TOTP code through the real forms: that is the *ramp-up*, timed apart. Once every
user has signed in (or failed to), the *measured window* opens for BEACON_BENCH_WINDOW seconds, after which
this file stops the run itself; only page requests inside the window are reported.

The mix (task weights; one task is one page as the user sees it):

- case page 8, case list 4, case timeline 2, person search 3 (the form, then the query posted), the map 1
  (its two data layers, one after the other), the statistics dashboard 1 (directors only;
  investigators pick another page instead);
- between two pages, a think time drawn uniformly from BEACON_BENCH_THINK ("low,high" seconds).

A page counts as an error when it does not answer 200 or when it sends the user back to sign in (a lost
session would otherwise look like a fast, successful page).
"""

import itertools
import json
import os
import random
import sys
import time
from pathlib import Path

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import csrf_token, sign_in_http  # noqa: E402 - after the path is set

DATA = json.loads(Path(os.environ["BEACON_BENCH_USERS"]).read_text())
ACCOUNTS = itertools.cycle(DATA["users"])
EXPECTED = int(os.environ.get("BEACON_BENCH_EXPECTED", len(DATA["users"])))
WINDOW = float(os.environ.get("BEACON_BENCH_WINDOW", "120"))
THINK = tuple(float(x) for x in os.environ.get("BEACON_BENCH_THINK", "5,15").split(","))

STATE = {"signed_in": 0, "sign_in_failed": 0, "ramp_started": None, "window": None}
PAGES: list[list] = []  # [name, milliseconds, failed, finished at] of every page request
SIGN_INS: list[list] = []  # [milliseconds for the whole sign-in (three requests), failed]
FAILURES: dict[str, int] = {}


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    if name.startswith("sign in"):
        return
    PAGES.append([name, response_time, exception is not None, time.time()])
    if exception is not None:
        key = f"{name}: {str(exception)[:100]}"
        FAILURES[key] = FAILURES.get(key, 0) + 1


def _open_window(environment) -> None:
    """Every user is in: measure for WINDOW seconds, then stop the run."""
    start = time.time()
    STATE["window"] = [start, start + WINDOW]

    def stop():
        gevent.sleep(WINDOW)
        environment.runner.quit()

    gevent.spawn(stop)


@events.test_stop.add_listener
def _write(**kwargs):
    if os.environ.get("BEACON_BENCH_TIMES"):
        Path(os.environ["BEACON_BENCH_TIMES"]).write_text(
            json.dumps({"pages": PAGES, "sign_ins": SIGN_INS, "failures": FAILURES, **STATE})
        )


class Staff(HttpUser):
    wait_time = between(*THINK)

    def on_start(self):
        self.account = next(ACCOUNTS)
        self.rng = random.Random(self.account["username"])  # noqa: S311 - load mix, not secrets
        STATE["ramp_started"] = STATE["ramp_started"] or time.time()
        started = time.perf_counter()
        try:
            sign_in_http(self.client, "", self.account["username"], self.account["password"], self.account["key"])
        except Exception:  # noqa: BLE001 - any failed sign-in is counted and the user stops
            SIGN_INS.append([(time.perf_counter() - started) * 1000, True])
            STATE["sign_in_failed"] += 1
            if STATE["signed_in"] + STATE["sign_in_failed"] >= EXPECTED and STATE["window"] is None:
                _open_window(self.environment)
            raise StopUser() from None
        SIGN_INS.append([(time.perf_counter() - started) * 1000, False])
        STATE["signed_in"] += 1
        if STATE["signed_in"] + STATE["sign_in_failed"] >= EXPECTED and STATE["window"] is None:
            _open_window(self.environment)
        # Users who signed in early wait for the others: the window measures everyone browsing together.
        while STATE["window"] is None:
            gevent.sleep(0.5)
        gevent.sleep(self.rng.uniform(0, THINK[1]))  # spread the first pages over one think time

    def page(self, path: str, name: str, *, method: str = "GET", data: dict | None = None, referer: str = ""):
        kwargs = {"data": data, "headers": {"Referer": referer}} if method == "POST" else {}
        with self.client.request(method, path, name=name, catch_response=True, **kwargs) as r:
            if r.status_code != 200:
                r.failure(f"status {r.status_code}")
            elif "/accounts/login" in r.url or "/accounts/mfa" in r.url:
                r.failure("sent back to sign in")
            return r

    @task(8)
    def case_detail(self):
        self.page(f"/cases/{self.rng.choice(self.account['cases'])}/", "case page")

    @task(4)
    def case_list(self):
        self.page("/cases/", "case list")

    @task(2)
    def case_timeline(self):
        self.page(f"/cases/{self.rng.choice(self.account['cases'])}/timeline/", "case timeline")

    @task(3)
    def person_search(self):
        form = self.page("/people/search/", "person search (form)")
        if form.status_code == 200:
            self.page(
                "/people/search/",
                "person search",
                method="POST",
                data={"csrfmiddlewaretoken": csrf_token(form.text), "q": self.rng.choice(DATA["queries"])},
                referer=form.url,
            )

    @task(1)
    def map_data(self):
        self.page("/map/data/counts.json", "map data (counts)")
        self.page("/map/data/incidents.json", "map data (incidents)")

    @task(1)
    def dashboard(self):
        if self.account["role"] == "director":
            self.page("/statistics/", "statistics dashboard")
        else:
            self.case_detail()
