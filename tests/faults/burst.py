"""A burst of API posts from concurrent clients: the driver shared by the burst test and
`benchmarks/burst.py`. Each client posts its share of incidents and releases, each with an
external id of its own, and every answer is kept with its time."""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from dataclasses import dataclass, field

from tests.faults.stack import Answer, Client


@dataclass
class Burst:
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return self.finished - self.started

    def statuses(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for _kind, answer in self.answers:
            out[answer.status] = out.get(answer.status, 0) + 1
        return dict(sorted(out.items()))

    def server_errors(self) -> list[str]:
        return [
            f"{kind}: {a.status} {a.body[:200]!r}"
            for kind, a in self.answers
            if a.status == 0 or a.status >= 500
        ]

    def latency(self) -> dict[str, float]:
        times = sorted(a.seconds for _kind, a in self.answers)
        if not times:
            return {}
        return {
            "p50": statistics.median(times),
            "p95": times[min(len(times) - 1, int(0.95 * len(times)))],
            "max": times[-1],
        }


def incident(n: int, now: dt.datetime, tag: str) -> dict[str, object]:
    started = now - dt.timedelta(days=n % 60, hours=1 + n % 7, minutes=n % 50)
    return {
        "title": f"{tag} incident {n}",
        "severity": "SEV2" if n % 3 else "SEV1",
        "service": f"svc-{n % 4}",
        "started_at": started.isoformat(),
        "resolved_at": (started + dt.timedelta(minutes=15 + n % 120)).isoformat()
        if n % 5
        else None,
        "deploy_caused": False,
        "external_id": f"{tag}-incident-{n}",
    }


def release(n: int, now: dt.datetime, tag: str) -> dict[str, object]:
    deployed = now - dt.timedelta(days=n % 60, hours=n % 11, minutes=n % 53)
    return {
        "service": f"svc-{n % 4}",
        "version": f"{tag}-{n}",
        "deployed_at": deployed.isoformat(),
        "first_commit_at": (deployed - dt.timedelta(hours=2 + n % 40)).isoformat(),
        "change_count": 1 + n % 6,
        "status": "failed" if n % 13 == 0 else "succeeded",
        "external_id": f"{tag}-release-{n}",
    }


def burst(port: int, token: str, *, incidents: int, releases: int, clients: int, tag: str) -> Burst:
    """`clients` threads post `incidents` incidents and `releases` releases between them,
    interleaved, as fast as the server answers."""
    now = dt.datetime.now(dt.UTC)
    jobs = [("incident", n) for n in range(incidents)] + [("release", n) for n in range(releases)]
    jobs.sort(key=lambda job: (job[1], job[0]))
    result = Burst()
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def run(share: list[tuple[str, int]]) -> None:
        client = Client(port, timeout=60)
        start.wait()
        for kind, n in share:
            if kind == "incident":
                answer = client.post_json("/api/v1/incidents", incident(n, now, tag), token)
            else:
                answer = client.post_json("/api/v1/releases", release(n, now, tag), token)
            with lock:
                result.answers.append((kind, answer))

    threads = [
        threading.Thread(target=run, args=(jobs[i::clients],), daemon=True) for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    start.wait()
    result.started = time.monotonic()
    for thread in threads:
        thread.join()
    result.finished = time.monotonic()
    return result
