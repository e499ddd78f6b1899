"""The helpers of scripts/fuzz_api.sh (standard library only, so it runs anywhere the
project's Python does):

    fuzz_site.py free-port
    fuzz_site.py wait URL SECONDS
    fuzz_site.py crawl BASE_URL --username U --password P [--max-pages N] [--per-pattern K]
    fuzz_site.py server-errors GUNICORN_LOG

`crawl` logs in through the login form and GETs every page it can reach from the overview,
the outcomes and settings pages and the admin's changelists, following links within the
site (a few of each kind of page, every team's): each must answer 200, or redirect to a page
that does. Fragments named by `hx-get` are requested as htmx does (`HX-Request: true`).
`server-errors` groups the tracebacks of a server log by exception and place, so a run's
500s read as a short list.
"""

from __future__ import annotations

import argparse
import collections
import html.parser
import http.cookiejar
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field

# Where the crawl starts besides the overview ("/").
SEEDS = ("/", "/outcomes/", "/definitions/", "/settings/tokens/", "/settings/webhooks/", "/admin/")
# Never requested: leaving the session, machine endpoints (the API has its own fuzzer),
# static files, and the admin's pages that change or delete on confirmation.
SKIP_PREFIXES = ("/accounts/logout/", "/admin/logout/", "/api/", "/static/", "/webhooks/")
SKIP_ADMIN = re.compile(r"^/admin/(?:.*/)?(?:delete|password|jsi18n)/|^/admin/r/")
HTMX_OK = {200, 204, 286}  # 286: django-htmx's "stop polling"
TIMEOUT = 30.0


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as answers (HTTPError), so the crawl sees the 3xx itself."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


@dataclass
class Session:
    base: str
    jar: http.cookiejar.CookieJar = field(default_factory=http.cookiejar.CookieJar)

    def __post_init__(self) -> None:
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(
        self, path: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        url = urllib.parse.urljoin(self.base, path)
        # Always the server's own http:// origin (`within_site` keeps every link on it).
        request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=TIMEOUT) as response:
                return Answer(response.status, _lower(response.headers.items()), response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, _lower(exc.headers.items()), exc.read())

    def csrf_token(self) -> str:
        for cookie in self.jar:
            if cookie.name == "csrftoken":
                return cookie.value or ""
        return ""


def _lower(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in items}


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pages: list[str] = []
        self.fragments: list[str] = []
        self.inputs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a" and values.get("href"):
            self.pages.append(values["href"])
        if values.get("hx-get"):
            self.fragments.append(values["hx-get"])
        if tag == "input" and values.get("name"):
            self.inputs[values["name"]] = values.get("value", "")


def links_of(body: bytes) -> _Links:
    parser = _Links()
    parser.feed(body.decode("utf-8", "replace"))
    return parser


def login(session: Session, username: str, password: str) -> None:
    form = session.request("/accounts/login/")
    if form.status != 200:
        raise SystemExit(f"crawl: the login page answered {form.status}")
    token = links_of(form.body).inputs.get("csrfmiddlewaretoken") or session.csrf_token()
    data = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/"}
    ).encode()
    origin = session.base.rstrip("/")
    answer = session.request(
        "/accounts/login/",
        data=data,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": origin,
            "Referer": origin + "/accounts/login/",
        },
    )
    if answer.status != 302:
        raise SystemExit(f"crawl: logging in as {username} answered {answer.status}, not 302")
    me = session.request("/me/")
    if me.status != 200 or me.body.decode().strip() != username:
        raise SystemExit(f"crawl: after logging in, /me/ answered {me.status}")


def pattern_of(path_and_query: str) -> str:
    """The kind of page: the path with its numeric segments as {n}, and the query's keys."""
    parts = urllib.parse.urlsplit(path_and_query)
    path = "/".join("{n}" if s.isdigit() else s for s in parts.path.split("/"))
    keys = sorted({k for k, _ in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)})
    return path + ("?" + "&".join(keys) if keys else "")


def within_site(base: str, page: str, link: str) -> str | None:
    """`link` (found on `page`) as a path and query of this site, or None."""
    if link.startswith(("mailto:", "tel:", "javascript:", "#", "data:")):
        return None
    url = urllib.parse.urljoin(urllib.parse.urljoin(base, page), link)
    parts, site = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    if (parts.scheme, parts.netloc) != (site.scheme, site.netloc):
        return None
    path = parts.path or "/"
    if path.startswith(SKIP_PREFIXES) or SKIP_ADMIN.search(path):
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def _admin_cap(path: str, cap: int) -> int:
    """How many of this kind of admin page: its changelists, change and add forms as they
    come; one of each filter or ordering (a single query key), not their combinations, nor
    the forms opened from a filtered list or a popup (the same forms again)."""
    keys = {k for k, _ in urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query, True)}
    if not keys:
        return cap
    if len(keys) > 1 or any(key.startswith("_") for key in keys):
        return 0
    return 1


@dataclass
class Crawl:
    session: Session
    max_pages: int
    per_pattern: int
    deadline: float
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    seen: set[tuple[str, bool]] = field(default_factory=set)
    per_kind: collections.Counter[str] = field(default_factory=collections.Counter)
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    queue: collections.deque[tuple[str, bool, str]] = field(default_factory=collections.deque)

    def add(self, path: str, htmx: bool, found_on: str, *, capped: bool = True) -> None:
        if (path, htmx) in self.seen:
            return
        kind = ("hx " if htmx else "") + pattern_of(path)
        cap = self.per_pattern
        if path.startswith("/admin/"):
            cap = _admin_cap(path, cap)
        if capped and self.per_kind[kind] >= cap:
            self.skipped[kind] += 1
            return
        self.seen.add((path, htmx))
        self.per_kind[kind] += 1
        self.queue.append((path, htmx, found_on))

    def fail(self, path: str, htmx: bool, found_on: str, why: str, answer: Answer) -> None:
        excerpt = answer.body[:300].decode("utf-8", "replace").replace("\n", " ")
        how = "GET (HX-Request) " if htmx else "GET "
        self.failures.append(f"{how}{path} (linked from {found_on}): {why}\n      {excerpt}")

    def visit(self, path: str, htmx: bool, found_on: str) -> None:
        headers = {"HX-Request": "true", "HX-Current-URL": found_on} if htmx else {}
        answer = self.session.request(path, headers=headers)
        self.requests += 1
        hops, current = 0, path
        while answer.status in (301, 302, 303, 307, 308) and hops < 3:
            target = within_site(self.session.base, current, answer.headers.get("location", ""))
            if target is None:
                self.fail(path, htmx, found_on, f"{answer.status} out of the site", answer)
                return
            if target.startswith("/accounts/login/"):
                self.fail(path, htmx, found_on, f"{answer.status} to the login page", answer)
                return
            current, hops = target, hops + 1
            answer = self.session.request(current, headers=headers)
            self.requests += 1
        ok = HTMX_OK if htmx else {200}
        if answer.status not in ok:
            where = f" (after redirects to {current})" if current != path else ""
            self.fail(path, htmx, found_on, f"{answer.status}{where}", answer)
            return
        if answer.content_type != "text/html":
            return
        links = links_of(answer.body)
        for link in links.pages:
            target = within_site(self.session.base, current, link)
            if target is not None:
                self.add(target, False, current)
                # Each kind of page is asked for once as htmx would (its partial).
                if not self.per_kind["hx " + pattern_of(target)]:
                    self.add(target, True, current)
        for link in links.fragments:
            target = within_site(self.session.base, current, link)
            if target is not None:
                self.add(target, True, current)

    def run(self) -> bool:
        """False when the crawl stopped at its limits with pages left to visit."""
        while self.queue:
            if self.requests >= self.max_pages or time.monotonic() > self.deadline:
                return False
            self.visit(*self.queue.popleft())
        return True


def crawl(args: argparse.Namespace) -> int:
    session = Session(args.base.rstrip("/") + "/")
    login(session, args.username, args.password)
    started = time.monotonic()
    job = Crawl(
        session,
        max_pages=args.max_pages,
        per_pattern=args.per_pattern,
        deadline=started + args.max_seconds,
    )
    for seed in SEEDS:
        job.add(seed, False, "(start)")
    if args.also:
        with open(args.also, encoding="utf-8") as also:
            for line in also:
                line = line.strip()
                if line.startswith("!"):  # a record whose page cannot even be named
                    job.failures.append(line[1:])
                elif line:
                    job.add(line, False, "(a record the fuzzer stored)", capped=False)
    complete = job.run()
    kinds = len({k for k in job.per_kind if not k.startswith("hx ")})
    print(
        f"crawl: {job.requests} requests, {len(job.seen)} URLs of {kinds} kinds of page "
        f"in {time.monotonic() - started:.0f} s; {sum(job.skipped.values())} more links "
        f"skipped past {args.per_pattern} of a kind"
    )
    if not complete:
        print(
            f"crawl: stopped at its limit ({args.max_pages} requests or {args.max_seconds} s) "
            f"with {len(job.queue)} URLs left"
        )
    if args.visited:
        with open(args.visited, "w", encoding="utf-8") as out:
            for path, htmx in sorted(job.seen):
                out.write(f"{'hx ' if htmx else ''}{pattern_of(path)}\t{path}\n")
    teams = sorted({m for p, _ in job.seen if (m := _team_of(p))})
    print(f"crawl: the pages of {len(teams)} teams: {', '.join(teams[:20])}")
    if job.failures:
        print(f"crawl: {len(job.failures)} pages failed:")
        for failure in job.failures:
            print(f"  - {failure}")
        return 1
    print("crawl: every page answered 200 (or redirected to one that did)")
    return 0


def _team_of(path: str) -> str | None:
    match = re.match(r"^/teams/([^/?]+)/", path)
    return match.group(1) if match else None


# --- a server log's tracebacks ---------------------------------------------------------

# A record of the project's log format (settings.LOGGING) or a line of gunicorn's own.
RECORD = re.compile(r"^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ |\[\d{4}-\d\d-\d\d )")
FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.+)$')
PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _ours(frame: re.Match[str] | None) -> bool:
    """A frame of the project's code (not of a library, nor of Python's own)."""
    if frame is None:
        return False
    return frame["file"].startswith(PROJECT) and "-packages" not in frame["file"]


@dataclass
class Failure:
    first: str
    count: int = 0
    requests: collections.Counter[str] = field(default_factory=collections.Counter)


def _exception_line(record: list[str]) -> str:
    """The raised exception's first line: the first line at column 0 after the last frame."""
    last = max((i for i, line in enumerate(record) if FRAME.match(line)), default=-1)
    for line in record[last + 1 :]:
        if line and not line[0].isspace():
            return line
    return "?"


def server_errors(args: argparse.Namespace) -> int:
    """Print each kind of traceback in the log once (the exception, and the deepest frame
    of the project), with how often and on which requests it happened."""
    with open(args.log, encoding="utf-8", errors="replace") as log:
        records: list[list[str]] = []
        for line in log:
            if RECORD.match(line) or not records:
                records.append([line.rstrip("\n")])
            else:
                records[-1].append(line.rstrip("\n"))
    kinds: dict[tuple[str, str], Failure] = {}
    for record in records:
        if not any(line.startswith("Traceback") for line in record):
            continue
        exception = _exception_line(record)
        ours = [m for line in record if (m := FRAME.match(line)) and _ours(m)]
        place = f"{ours[-1]['file']}:{ours[-1]['line']} in {ours[-1]['func']}" if ours else "?"
        # One kind whatever the values: numbers and quoted values left out.
        kind = re.sub(r"\d+ validation errors?", "validation errors", exception)
        kind = re.sub(r"\d+", "N", re.sub(r'"[^"]*"', '"…"', kind))[:160]
        failure = kinds.setdefault((kind, place), Failure(_compact(record)))
        failure.count += 1
        message = record[0].split(" ", 4)[-1] if RECORD.match(record[0]) else record[0]
        failure.requests[message[:160]] += 1
    if not kinds:
        print("server errors: none in the server's log")
        return 0
    print(f"server errors: {sum(f.count for f in kinds.values())} tracebacks of {len(kinds)} kinds")
    for number, ((kind, place), failure) in enumerate(kinds.items(), 1):
        print(f"\n#{number} {kind}\n   at {place} ({failure.count}x)")
        for message, count in failure.requests.most_common(5):
            print(f"   {count}x {message}")
        print("   first traceback (the project's frames; the whole one is in the log):")
        for line in failure.first.splitlines():
            print(f"   | {line}")
    return 1


def _compact(record: list[str]) -> str:
    """A traceback with the project's frames only (each with its line of code), then the
    exception."""
    lines: list[str] = []
    last = max((i for i, line in enumerate(record) if FRAME.match(line)), default=-1)
    for i, line in enumerate(record):
        if _ours(FRAME.match(line)):
            lines.append(line)
            if i + 1 < len(record) and not FRAME.match(record[i + 1]):
                lines.append(record[i + 1])
    tail = [line for line in record[last + 1 :] if line.strip()]
    exception = next((i for i, line in enumerate(tail) if not line[0].isspace()), 0)
    return "\n".join([record[0], *lines, *tail[exception : exception + 6]])


# --- the server -----------------------------------------------------------------------


def free_port(args: argparse.Namespace) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        print(sock.getsockname()[1])
    return 0


def wait(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(args.url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return 0
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.5)
    print(f"{args.url} did not answer 200 within {args.seconds} s", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("free-port").set_defaults(run=free_port)
    waiting = commands.add_parser("wait")
    waiting.add_argument("url")
    waiting.add_argument("seconds", type=float)
    waiting.set_defaults(run=wait)
    crawling = commands.add_parser("crawl")
    crawling.add_argument("base")
    crawling.add_argument("--username", required=True)
    crawling.add_argument("--password", required=True)
    crawling.add_argument("--max-pages", type=int, default=3000)
    crawling.add_argument("--max-seconds", type=float, default=240)
    crawling.add_argument("--per-pattern", type=int, default=4)
    crawling.add_argument("--visited", help="Write each URL requested, with its kind, here.")
    crawling.add_argument("--also", help="A file of paths to request too, one a line.")
    crawling.set_defaults(run=crawl)
    errors = commands.add_parser("server-errors")
    errors.add_argument("log")
    errors.set_defaults(run=server_errors)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
