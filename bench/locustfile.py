"""Mixed load for ``manage.py bench_extra --only load`` (issue #11): run by bench/load.py, not by hand.

Each simulated user takes one benchmark account (from the private file named by BEACON_BENCH_USERS), signs in
once with password and TOTP code through the real forms, then mixes: case list, case pages, person search,
map data and (directors) the statistics dashboard, with 1-3 s of thinking between requests.
"""

import itertools
import json
import os
import random
import sys
from pathlib import Path

from locust import HttpUser, between, events, task

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.load import csrf_token, sign_in_http  # noqa: E402 - after the path is set

DATA = json.loads(Path(os.environ["BEACON_BENCH_USERS"]).read_text())
ACCOUNTS = itertools.cycle(DATA["users"])
TIMES: list[list] = []  # [name, milliseconds, failed] of every request after sign-in, for exact percentiles


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    if not name.startswith("sign in"):
        TIMES.append([name, response_time, exception is not None])


@events.test_stop.add_listener
def _write(**kwargs):
    if os.environ.get("BEACON_BENCH_TIMES"):
        Path(os.environ["BEACON_BENCH_TIMES"]).write_text(json.dumps(TIMES))


class Staff(HttpUser):
    wait_time = between(1, 3)

    def on_start(self):
        self.account = next(ACCOUNTS)
        self.rng = random.Random(self.account["username"])  # noqa: S311 - load mix, not secrets
        sign_in_http(self.client, "", self.account["username"], self.account["password"], self.account["key"])

    @task(4)
    def case_list(self):
        self.client.get("/cases/", name="case list")

    @task(6)
    def case_detail(self):
        self.client.get(f"/cases/{self.rng.choice(self.account['cases'])}/", name="case detail")

    @task(3)
    def person_search(self):
        page = self.client.get("/people/search/", name="person search (form)")
        if page.status_code == 200:
            self.client.post(
                "/people/search/",
                data={"csrfmiddlewaretoken": csrf_token(page.text), "q": self.rng.choice(DATA["queries"])},
                headers={"Referer": page.url},
                name="person search",
            )

    @task(2)
    def map_data(self):
        self.client.get("/map/data/counts.json", name="map data (counts)")
        self.client.get("/map/data/incidents.json", name="map data (incidents)")

    @task(1)
    def dashboard(self):
        if self.account["role"] == "director":
            self.client.get("/statistics/", name="statistics dashboard")
