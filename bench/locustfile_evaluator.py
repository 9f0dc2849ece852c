"""Locust users submitting evaluations to the evaluator (driven by bench/evaluator_load.py).

Environment: REX_BENCH_JWT_SECRET (signs the users' tokens), REX_BENCH_ROWS (rows per
evaluation, default 2), REX_BENCH_RATE (submissions per second per user, default 0.12),
REX_BENCH_ORGS (organizations the users are spread over, default 10), REX_BENCH_LOCKSTEP=1
(every user submits at the same moment, once per period: a burst of all users at once instead
of the steady rate).

Each submission is its own data: rows drawn from the bundled sample, each answer lengthened
by a random part of its contexts, so prompts (and the prices the ledger is asked for) vary
from one submission to the next as different teams' datasets would.
"""

import itertools
import json
import os
import random
import time
from importlib import resources

import gevent
from locust import HttpUser, task
from rex_shared.auth import JwtVerifier

SAMPLE = json.loads(resources.files("rexctl").joinpath("data/sample_rag.json").read_text())
ROWS = int(os.environ.get("REX_BENCH_ROWS", "2"))
LOCKSTEP = os.environ.get("REX_BENCH_LOCKSTEP") == "1"
ORGS = int(os.environ.get("REX_BENCH_ORGS", "10"))
RATE = float(os.environ.get("REX_BENCH_RATE", "0.12"))
_numbers = itertools.count()


def varied_rows(n: int) -> list[dict[str, object]]:
    """`n` sample rows, each answer followed by a random stretch of its own contexts."""
    rows = []
    for row in random.sample(SAMPLE["rows"], min(n, len(SAMPLE["rows"]))):
        words = " ".join(row["contexts"]).split()
        start = random.randrange(len(words))
        extra = " ".join(words[start : start + random.randint(0, len(words))])
        rows.append({**row, "answer": f"{row['answer']} {extra}".strip()})
    return rows


class Submitter(HttpUser):
    """A team member starting evaluations and now and then checking on one."""

    next_at = 0.0  # when this user's next submission is due (perf_counter seconds)

    def wait_time(self) -> float:
        """RATE submissions per second, paced from this user's own first one. (Locust's
        constant_throughput paces from the user's creation: it would count the start offset
        in on_start as task time and bring every user back into step at its second task, all
        100 at once every 1/RATE seconds, as an strace of the API showed.)"""
        self.next_at += 1 / RATE
        return max(0.0, self.next_at - time.perf_counter())

    def on_start(self) -> None:
        n = next(_numbers)
        verifier = JwtVerifier(os.environ["REX_BENCH_JWT_SECRET"])
        token = verifier.mint(sub=f"user-{n}", org_id=f"bench-load-{n % ORGS}",
                              roles=["member"], ttl_s=7200)  # fmt: skip
        self.client.headers["Authorization"] = f"Bearer {token}"
        # A user asks every ~8 s; the services keep idle connections 75 s
        # (rex_shared.runtime.KEEP_ALIVE_S), so a user's connection is reused as an SDK's or a
        # browser's would be. REX_BENCH_NEW_CONNECTIONS=1 opens one per request instead.
        if os.environ.get("REX_BENCH_NEW_CONNECTIONS") == "1":
            self.client.headers["Connection"] = "close"
        self.submitted = 0
        self.last_id: str | None = None
        # Users do not act in lockstep: each starts somewhere within its first period, so the
        # load is the steady rate from the start instead of one burst of every user at once.
        if not LOCKSTEP:
            gevent.sleep(random.uniform(0, 1 / RATE))
        self.next_at = time.perf_counter()

    @task
    def submit(self) -> None:
        body = {"project_id": "load", "metrics": ["faithfulness"], "rows": varied_rows(ROWS)}
        with self.client.post("/api/v1/evaluations", json=body, name="submit",
                              catch_response=True) as reply:  # fmt: skip
            if reply.status_code != 202:
                why = reply.error if reply.status_code == 0 else reply.text[:200]
                reply.failure(f"HTTP {reply.status_code}: {why}")
                return
            self.last_id = reply.json()["data"]["id"]
        self.submitted += 1
        if self.submitted % 5 == 0 and self.last_id:
            self.client.get(f"/api/v1/evaluations/{self.last_id}", name="status")
