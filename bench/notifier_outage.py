"""The mail server down for 30 seconds, then back: every alert arrives exactly once.

ONE `python -m notifier serve` process with its settings-configured email channel (the
default for an organization without channels of its own) pointing at a local aiosmtpd port
where nothing listens yet. A burst of alerts is published; once every delivery has failed at
least once the server stays away for `--outage` seconds more, then starts. Reported: alerts
accepted by the server, duplicates (by Message-ID), and the time from the server's return to
the last alert. The retry schedule is the production one (5 s doubling, +-20 % jitter),
so recovery takes up to one backoff step after the server is back.

    uv run python bench/notifier_outage.py [--alerts 100] [--outage 30]
"""

import argparse
import asyncio
import time
from collections import Counter
from uuid import uuid4

import asyncpg
from notifier_throughput import (
    LOGS,
    Setup,
    group_at_end,
    infrastructure,
    notifier,
    publish,
)
from rex_shared.db import bypass_rls
from rex_testkit.smtp_sink import SmtpSink
from rex_testkit.waiting import eventually


async def failed_once(setup: Setup, count: int) -> bool:
    """Whether every delivery of the bench org has been tried (and failed) at least once."""
    conn = await asyncpg.connect(setup.dsn, server_settings={"search_path": "notifier"})
    try:
        async with conn.transaction():
            await bypass_rls(conn)
            tried = await conn.fetchval(
                "SELECT count(*) FROM deliveries WHERE org_id = $1 AND status = 'failed'",
                setup.org,
            )
    finally:
        await conn.close()
    return int(tried) >= count


async def everything_sent(setup: Setup, count: int) -> bool:
    sent, _ = await attempts(setup)
    return sum(sent.values()) >= count


async def attempts(setup: Setup) -> tuple[Counter[int], set[str]]:
    """Attempts per sent delivery of the bench org, and the Message-IDs it was sent with."""
    conn = await asyncpg.connect(setup.dsn, server_settings={"search_path": "notifier"})
    try:
        async with conn.transaction():
            await bypass_rls(conn)
            rows = await conn.fetch(
                "SELECT id, attempts FROM deliveries WHERE org_id = $1 AND status = 'sent'",
                setup.org,
            )
    finally:
        await conn.close()
    return Counter(r["attempts"] for r in rows), {f"<{r['id']}@rex-notifier>" for r in rows}


async def run(alerts: int, outage_s: float) -> None:
    smtp = SmtpSink()  # not listening until the outage is over
    port = smtp.port
    async with infrastructure() as setup:
        group = f"bench-outage-{uuid4().hex[:8]}"
        await group_at_end(setup.infra.kafka_bootstrap, group)
        extra = {
            "REX_NOTIFIER_EMAIL_TO": "ops@example.com",
            "REX_NOTIFIER_SMTP_PORT": str(port),
            "REX_NOTIFIER_SMTP_TIMEOUT_S": "5",
            "REX_NOTIFIER_MAX_ATTEMPTS": "20",
            # Pacing out of the way: this measures retries, not the rate limit.
            "REX_NOTIFIER_EMAIL_RATE_PER_S": "1000",
            "REX_NOTIFIER_EMAIL_RATE_BURST": "1000",
        }
        async with notifier(setup, group, LOGS / "bench-notifier-outage.log", **extra):
            started = time.monotonic()
            await publish(setup.infra.kafka_bootstrap, setup.org, alerts)
            await eventually(lambda: failed_once(setup, alerts), within=120, interval=0.2)
            down_until = time.monotonic() + outage_s
            await asyncio.sleep(max(0.0, down_until - time.monotonic()))  # the outage
            smtp.start()
            back = time.monotonic()
            try:
                await eventually(lambda: everything_sent(setup, alerts), within=900, interval=0.2)
                await asyncio.sleep(3.0)  # time for a duplicate to show up, if there were one
                tries, ours = await attempts(setup)
            finally:
                smtp.stop()
    # Other sessions' budget events reach this notifier's default channel too: count ours only.
    arrivals = zip(smtp.arrivals, (str(m["Message-ID"]) for m in smtp.messages), strict=True)
    report([(t, i) for t, i in arrivals if i in ours], alerts, back - started, back, tries)


def report(
    arrivals: list[tuple[float, str]], alerts: int, down_s: float, back: float, tries: Counter[int]
) -> None:
    """`arrivals`: (time, Message-ID) of each message the server accepted."""
    ids = Counter(i for _, i in arrivals)
    unique, duplicates = len(ids), sum(ids.values()) - len(ids)
    recovery = max(t for t, _ in arrivals) - back if arrivals else float("nan")
    rows = [
        ("alerts published", str(alerts)),
        ("mail server down for", f"{down_s:.1f} s"),
        ("alerts accepted once", f"{unique} / {alerts}"),
        ("duplicates", str(duplicates)),
        ("server back -> last alert", f"{recovery:.1f} s"),
        ("attempts per alert", ", ".join(f"{a}: {n}" for a, n in sorted(tries.items()))),
    ]
    print(f"\nnotifier: SMTP outage of {down_s:.0f} s")
    for name, value in rows:
        print(f"  {name:<26} {value}")
    ok = unique == alerts and duplicates == 0
    print(f"BENCH notifier_outage delivered_once={unique}/{alerts} alerts target={alerts} "
          f"{'pass' if ok else 'short'}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=100)
    parser.add_argument("--outage", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(run(args.alerts, args.outage))


if __name__ == "__main__":
    main()
