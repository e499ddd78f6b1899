"""What a person and an API client do: log in, open every page and fragment, post the forms
and the API. Each answer is kept with its time, for the fault tests to judge."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from dataclasses import dataclass, field

from django.utils import timezone

from tests.faults.conftest import Org
from tests.faults.stack import Answer, Client

_serial = itertools.count()


def _hasher_seconds() -> float:
    """What checking a password costs here with the production hasher (PBKDF2, 1.5 million
    iterations: deliberately slow, and slower still on a loaded machine), measured once and
    tripled, for the load to vary: a login checks the password, nothing else costs as much.
    (A Redis timeout would add 0.5-1 s to every answer: the other pages catch that.)"""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    started = time.monotonic()
    hasher.encode("a-password-to-time", hasher.salt())
    return 3 * (time.monotonic() - started)


HASHER_SECONDS = _hasher_seconds()


@dataclass
class Log:
    answers: list[tuple[str, Answer]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, label: str, answer: Answer) -> Answer:
        with self.lock:
            self.answers.append((label, answer))
        return answer

    def failures(self, *, limit: float = 2.0) -> list[str]:
        """Server errors and dropped connections; and answers slower than `limit` (a login's
        POST may take the password hasher's deliberate cost on top) beyond what a shared,
        loaded machine explains: one answer in twenty, at most two, may take up to three
        times the limit when the CPU is taken by others. A Redis timeout costs every call
        it is on the path of, so it cannot hide in that margin."""
        wrong, slow = [], []
        for label, a in self.answers:
            allowed = limit + (HASHER_SECONDS if label.startswith("login") else 0.0)
            if a.status == 0 or a.status >= 500 or a.seconds > 3 * allowed:
                wrong.append(f"{label}: {a.status} in {a.seconds:.2f} s {a.body[:300]!r}")
            elif a.seconds > allowed:
                slow.append(f"{label}: {a.status} in {a.seconds:.2f} s (limit {allowed:.1f} s)")
        if len(slow) > min(2, len(self.answers) // 20):
            wrong.extend(slow)
        return wrong

    def slowest(self, *, logins: bool = False) -> float:
        """The slowest answer, logins (their password check) left out unless asked."""
        return max(
            (a.seconds for label, a in self.answers if logins or not label.startswith("login")),
            default=0.0,
        )


def pages(org: Org) -> list[str]:
    slug = org.team.slug
    return [
        "/",
        "/definitions/",
        f"/teams/{slug}/",
        f"/teams/{slug}/incidents/",
        f"/teams/{slug}/incidents/{org.incident_id}/",
        f"/teams/{slug}/incidents/new/",
        f"/teams/{slug}/releases/",
        f"/teams/{slug}/releases/{org.release_id}/",
        f"/teams/{slug}/releases/new/",
        "/me/",
    ]


def fragments(org: Org) -> list[str]:
    slug = org.team.slug
    return ["/?range=13w", f"/teams/{slug}/?range=26w", f"/teams/{slug}/freshness/"]


def incident_payload(tag: str) -> dict[str, object]:
    started = timezone.now() - dt.timedelta(hours=2, minutes=next(_serial) % 50)
    return {
        "title": f"{tag} incident",
        "severity": "SEV2",
        "service": "checkout",
        "started_at": started.isoformat(),
        "resolved_at": (started + dt.timedelta(minutes=30)).isoformat(),
        "deploy_caused": False,
        "external_id": f"{tag}-inc-{next(_serial)}",
    }


def release_payload(tag: str) -> dict[str, object]:
    deployed = timezone.now() - dt.timedelta(hours=1, minutes=next(_serial) % 50)
    return {
        "service": "checkout",
        "version": f"{tag}-{next(_serial)}",
        "deployed_at": deployed.isoformat(),
        "first_commit_at": (deployed - dt.timedelta(hours=5)).isoformat(),
        "change_count": 3,
        "external_id": f"{tag}-rel-{next(_serial)}",
    }


def api_round(client: Client, org: Org, log: Log, tag: str) -> None:
    log.add(
        "POST /api/v1/incidents",
        client.post_json("/api/v1/incidents", incident_payload(tag), org.token),
    )
    log.add(
        "POST /api/v1/releases",
        client.post_json("/api/v1/releases", release_payload(tag), org.token),
    )
    today = timezone.localdate()
    start = (today - dt.timedelta(days=28)).isoformat()
    log.add(
        "GET /api/v1/metrics",
        client.get_json(f"/api/v1/metrics?start={start}&end={today.isoformat()}", org.token),
    )
    log.add("GET /api/v1/incidents", client.get_json("/api/v1/incidents", org.token))


def person_round(port: int, org: Org, log: Log, tag: str) -> Client:
    """A person who logs in afresh, opens everything, and records an incident with the form."""
    client = Client(port)
    for answer in client.login(org.username, org.password):
        log.add("login", answer)
    for path in pages(org):
        log.add(f"GET {path}", client.get(path))
    for path in fragments(org):
        log.add(f"htmx {path}", client.fragment(path))
    started = timezone.localtime(timezone.now() - dt.timedelta(hours=1)).replace(
        second=0, microsecond=0
    )
    new = f"/teams/{org.team.slug}/incidents/new/"
    log.add(
        "POST incident form",
        client.post_form(
            new,
            {
                "title": f"{tag}: form incident",
                "severity": "SEV3",
                "service": "checkout",
                "started_at": started.strftime("%Y-%m-%dT%H:%M"),
                "detected_at": "",
                "resolved_at": "",
                "cause": "not_deploy",
                "caused_by": "",
                "summary": "",
            },
        ),
    )
    api_round(client, org, log, tag)
    return client


class Background:
    """API posts and page views in a loop on a thread, until stopped."""

    def __init__(self, port: int, org: Org, log: Log, tag: str) -> None:
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(port, org, log, tag), daemon=True)
        self.thread.start()

    def _run(self, port: int, org: Org, log: Log, tag: str) -> None:
        client = Client(port)
        for answer in client.login(org.username, org.password):
            log.add("login (background)", answer)
        while not self.stopped.is_set():
            api_round(client, org, log, tag)
            log.add("GET team page (background)", client.get(f"/teams/{org.team.slug}/"))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=30)
