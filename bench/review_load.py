"""Review queue under load: 1,000,000 candidates on PostgreSQL, reviewers arriving at fixed rates over HTTP.

    .venv/bin/python bench/review_load.py                       # the full run (about 10 minutes here)
    .venv/bin/python bench/review_load.py --candidates 20000 --rates 20,50 --seconds 5   # a quick look

What it does:
1. Starts a throwaway PostgreSQL server (tests/postgres_plugin.py's class), migrates, and bulk-loads
   the candidates and their review items with COPY (all in the queue, pending).
2. Baseline, in this process: the claim (`review.queue.claims.claim_next`) with the partial index on pending
   items, and with that index dropped; the ratio is printed. Queries per request are counted here too,
   with Django's test client on the same database and the same views.
3. Starts gunicorn on the database, with the product's settings plus one page, /floor/
   (bench/floor_urls.py: session, user, one indexed SELECT, a tiny template), logs every simulated
   reviewer in over HTTP, and runs an OPEN-LOOP load: arrivals at a fixed rate whether or not earlier
   ones finished (the way physicians arrive), each taken by an idle session. First the floor (GET
   /floor/), then review cycles: save-and-next is one request, POST decide, answered with the next
   item (claimed, and the one after it claimed ahead). Latency counts from the arrival's scheduled
   start, so client-side queueing is not hidden.
4. Prints p50/p95/p99 per rate, double assignments (must be 0), the highest rate each sustained with
   p95 < 50 ms (every arrival served, no error), and the ratio review cycles / floor requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.management.commands.serve import DEFAULT_THREADS, default_web_workers  # noqa: E402
from tests.postgres_plugin import ThrowawayPostgres  # noqa: E402

PASSWORD = "bench-reviewer-pass"  # noqa: S105 (throwaway accounts on a throwaway server)


class BenchPostgres(ThrowawayPostgres):
    port = 54341  # not the test suite's port: both may run at once on a shared machine


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bulk_load(candidates: int) -> None:
    """COPY the candidates of one completed run and a pending review item for each."""
    from django.db import connection
    from django.utils import timezone

    from review.models import Batch, ReviewItem
    from synth.models import Candidate, Domain, GenerationRun, Teacher

    teacher = Teacher.objects.get(name="offline")
    domains = list(Domain.objects.values_list("pk", flat=True))
    run = GenerationRun.objects.create(
        technique="self_instruct",
        teacher=teacher,
        requested_count=candidates,
        sample_rate=1.0,
        status="completed",
    )
    batch = Batch.objects.create(run=run, sample_rate=1.0, passed_count=candidates)
    now = timezone.now()
    known = {
        "run_id": run.pk,
        "technique": "self_instruct",
        "input": "",
        "rejected_output": "",
        "status": "passed",
        "held_back": False,
        "filter_reason": "",
        "teacher_provider": "offline",
        "teacher_model": "offline",
        "provenance": "{}",
        "created_at": now,
    }
    fields = [f for f in Candidate._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults = {}
    for f in fields:
        if f.column in known or f.column in (
            "sequence",
            "domain_id",
            "instruction",
            "output",
            "content_hash",
        ):
            continue
        value = f.get_default() if f.has_default() else (None if f.null else "")
        defaults[f.column] = json.dumps(value) if f.get_internal_type() == "JSONField" else value
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {Candidate._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for n in range(candidates):
            row = {
                **known,
                **defaults,
                "sequence": n + 1,
                "domain_id": domains[n % len(domains)],
                "instruction": f"Benchmark task {n}: name the ICD-10-CM chapter of code A{n % 100:02d}.",
                "output": f"Answer {n}: chapter 1, certain infectious and parasitic diseases (A00-B99).",
                "content_hash": f"{n:064x}",
            }
            copy.write_row([row[c] for c in columns])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ReviewItem._meta.db_table} "  # noqa: S608 (table names from our own models)
            "(candidate_id, batch_id, required_reviews, status, final_verdict, final_preference, created_at) "
            f"SELECT id, %s, 1, 'pending', '', '', %s FROM {Candidate._meta.db_table} WHERE run_id = %s ORDER BY id",
            [batch.pk, now, run.pk],
        )
        cursor.execute("ANALYZE")


def make_reviewers(count: int) -> list:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from core import roles

    roles.ensure_roles()
    hashed = make_password(PASSWORD)
    User = get_user_model()
    User.objects.bulk_create(User(username=f"reviewer{n:04d}", password=hashed) for n in range(count))
    users = list(User.objects.filter(username__startswith="reviewer").order_by("username"))
    group = Group.objects.get(name=roles.PHYSICIAN)
    group.user_set.add(*users)
    return users


def claim_baseline(label: str, reviewers: list, claims: int) -> float:
    """Median seconds of one `claim_next` with a queue this deep, each claim by another reviewer."""
    from review.queue.claims import claim_next

    times = []
    for reviewer in reviewers[:claims]:
        start = time.perf_counter()
        claim_next(reviewer)
        times.append(time.perf_counter() - start)
    median = percentile(times, 50)
    print(f"  claim_next in-process, {label}: p50 {median * 1000:.2f} ms over {len(times)} claims")
    return median


def queries_per_request(reviewer) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(reviewer)
    counts = {}
    with CaptureQueriesContext(connection) as captured:
        page = client.get("/review/")
    counts["first page (GET /review/)"] = len(captured)
    assignment = re.search(r'data-assignment="(\d+)"', page.text).group(1)

    def save_and_next() -> str:
        answer = client.post(
            f"/review/assignments/{assignment}/decide/", {"verdict": "accept"}, headers={"HX-Request": "true"}
        )
        return re.search(r'data-assignment="(\d+)"', answer.text).group(1)

    # The first one in a process also fills Django's per-process caches (content types, templates): the
    # cycle is counted on a warm server, as tests/review/test_queries_per_request.py pins it.
    with CaptureQueriesContext(connection) as captured:
        assignment = save_and_next()
    counts["first save-and-next in this process"] = len(captured)
    with CaptureQueriesContext(connection) as captured:
        save_and_next()
    counts["save-and-next, warm (POST decide; BEGIN, SAVEPOINT, RELEASE and COMMIT counted)"] = len(captured)
    return counts


class Session:
    """One logged-in reviewer speaking HTTP to the server (cookies kept by hand)."""

    def __init__(self, host: str, port: int, username: str) -> None:
        self.host, self.port, self.username = host, port, username
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.assignment = ""

    def request(
        self, method: str, path: str, body: dict | None = None, htmx: bool = False
    ) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if htmx:
            headers["HX-Request"] = "true"
        data = None
        if body is not None:
            data = urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.csrf
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        connection.close()
        return response.status, text

    def log_in(self) -> None:
        status, page = self.request("GET", "/accounts/login/")
        self.csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _ = self.request(
            "POST", "/accounts/login/", {"username": self.username, "password": PASSWORD}
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"{self.username} could not log in (HTTP {status})")

    def remember(self, page: str) -> None:
        if match := re.search(r'"x-csrftoken": "([^"]+)"', page):
            self.csrf = match.group(1)
        found = re.search(r'data-assignment="(\d+)"', page)
        self.assignment = found.group(1) if found else ""


def review_cycle(session: Session, scheduled: float) -> dict[str, float]:
    """One physician's save-and-next: a single request, the decision, answered with the next item
    (claimed, and the one after it claimed ahead in the same transaction)."""
    if not session.assignment:
        raise RuntimeError("the queue ran dry")
    status, page = session.request(
        "POST", f"/review/assignments/{session.assignment}/decide/", {"verdict": "accept"}, htmx=True
    )
    if status != 200:
        raise RuntimeError(f"decide answered {status}: {page[:200]}")
    session.remember(page)
    return {"save-and-next": time.perf_counter() - scheduled}


def floor_request(session: Session, scheduled: float) -> dict[str, float]:
    """The floor: one authenticated GET of a page that does one indexed SELECT (bench/floor_urls.py)."""
    status, _ = session.request("GET", f"/floor/?item={secrets.randbelow(1000) + 1}")
    if status != 200:
        raise RuntimeError(f"GET /floor/ answered {status}")
    return {"floor": time.perf_counter() - scheduled}


def run_rate(sessions: list[Session], rate: float, seconds: float, step=review_cycle) -> dict:
    """Open loop: `step`s start at fixed times, each taken by an idle session; latencies by kind."""
    idle: queue.SimpleQueue[Session] = queue.SimpleQueue()
    for session in sessions:
        idle.put(session)
    results: dict[str, list[float]] = {}
    errors: list[str] = []
    skipped = 0
    done = 0
    lock = threading.Lock()

    def run_one(session: Session, scheduled: float) -> None:
        nonlocal done
        try:
            latencies = step(session, scheduled)
            with lock:
                done += 1
                for kind, seconds_taken in latencies.items():
                    results.setdefault(kind, []).append(seconds_taken)
        except Exception as error:  # counted and reported, never hidden
            with lock:
                errors.append(str(error))
        finally:
            idle.put(session)

    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    with ThreadPoolExecutor(max_workers=len(sessions)) as pool:
        for n in range(total):
            scheduled = start + n / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                session = idle.get_nowait()
            except queue.Empty:
                skipped += 1  # every session busy: the arrival is lost, and reported
                continue
            pool.submit(run_one, session, scheduled)
    elapsed = time.perf_counter() - start
    return {
        "rate": rate,
        "done": done,
        "achieved": done / elapsed,
        "skipped": skipped,
        "errors": errors,
        **results,
    }


def sustained(result: dict, kinds: tuple[str, ...], p95_under: float) -> bool:
    """The rate was held: every arrival served, no error, and p95 under the bound for every kind."""
    return (
        not result["errors"]
        and not result["skipped"]
        and all(percentile(result.get(kind, []), 95) < p95_under for kind in kinds)
    )


def print_rates(
    label: str, sessions: list[Session], rates: list[float], seconds: float, step, kinds
) -> float:
    """Run each rate, print its percentiles; the highest rate sustained with p95 < 50 ms."""
    print(f"\n{label}")
    print(
        f"{'rate/s':>7} {'done/s':>7} {'skipped':>7} {'errors':>6}  "
        + "  ".join(f"{kind + ' p50/p95/p99':>24}" for kind in kinds)
    )
    best = 0.0
    for rate in rates:
        result = run_rate(sessions, rate, seconds, step)
        cells = []
        for kind in kinds:
            values = [v * 1000 for v in result.get(kind, [])]
            figures = (
                f"{percentile(values, 50):6.1f}/{percentile(values, 95):6.1f}/{percentile(values, 99):6.1f}"
            )
            cells.append(figures.rjust(24))
        print(
            f"{rate:7.0f} {result['achieved']:7.1f} {result['skipped']:7d} {len(result['errors']):6d}  "
            + "  ".join(cells)
        )
        if result["errors"]:
            print(f"        first error: {result['errors'][0]}")
        if sustained(result, kinds, P95_BOUND):
            best = rate
    return best


# The bound a rate must meet to count as sustained (both for the floor and the review cycle).
P95_BOUND = 0.050


def double_assignments() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM (SELECT a.item_id FROM review_assignment a "
            "JOIN review_reviewitem i ON i.id = a.item_id GROUP BY a.item_id, i.required_reviews "
            "HAVING count(*) > i.required_reviews) doubled"
        )
        return cursor.fetchone()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=1_000_000)
    parser.add_argument("--reviewers", type=int, default=120, help="simulated reviewers (logged-in sessions)")
    parser.add_argument(
        "--rates", default="25,50,100,150,200", help="review cycles per second, comma-separated"
    )
    parser.add_argument(
        "--floor-rates", default="50,100,200,300,400", help="floor requests per second, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=20, help="how long each rate runs")
    # serve's defaults, so the benchmark measures what production runs
    parser.add_argument("--workers", type=int, default=default_web_workers(), help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per gunicorn process")
    args = parser.parse_args()

    server = BenchPostgres()
    server.start()
    web = None
    try:
        env = {
            **os.environ,
            "DATABASE_URL": server.url,
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "127.0.0.1,testserver",
        }
        served = {**env, "DJANGO_SETTINGS_MODULE": "bench.floor_settings"}  # the product plus /floor/
        os.environ.update(env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from synth.demo_data import load_demo_data

        call_command("migrate", verbosity=0)
        load_demo_data(with_users=False)
        started = time.perf_counter()
        bulk_load(args.candidates)
        print(
            f"Loaded {args.candidates:,} candidates and review items with COPY in {time.perf_counter() - started:.1f} s"
        )
        reviewers = make_reviewers(args.reviewers + 400)
        bench_reviewers, baseline_reviewers = reviewers[: args.reviewers], reviewers[args.reviewers :]

        print("Baseline (same process, same database):")
        with_index = claim_baseline("partial index on pending items", baseline_reviewers[:150], 150)
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX review_item_pending")
            cursor.execute("ANALYZE review_reviewitem")
        without_index = claim_baseline("that index dropped", baseline_reviewers[150:300], 150)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX review_item_pending ON review_reviewitem (id) WHERE status = 'pending'"
            )
            cursor.execute("ANALYZE review_reviewitem")
        print(f"  ratio (without / with the partial index): {without_index / with_index:.1f}x")
        counts = queries_per_request(baseline_reviewers[300])
        print("Database queries per request: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        connection.close()

        port = free_port()
        web = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--worker-class",
                "gthread",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=served,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        sessions = [Session("127.0.0.1", port, user.username) for user in bench_reviewers]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda s: s.log_in(), sessions))
        print(f"{len(sessions)} reviewers logged in over HTTP in {time.perf_counter() - started:.1f} s")
        for session in sessions:  # each one's first claim, before the clock starts
            session.remember(session.request("GET", "/review/")[1])

        print(
            f"\nOpen loop, {args.seconds:.0f} s per rate, gunicorn {args.workers} workers x {args.threads} threads, "
            f"{len(sessions)} logged-in sessions; latency in ms, counted from each arrival's scheduled start"
        )
        floor = print_rates(
            "Floor: GET /floor/ (session, user, one indexed SELECT, a tiny template)",
            sessions,
            [float(r) for r in args.floor_rates.split(",")],
            args.seconds,
            floor_request,
            ("floor",),
        )
        cycles = print_rates(
            "Review cycles (one POST: the decision, answered with the next item)",
            sessions,
            [float(r) for r in args.rates.split(",")],
            args.seconds,
            review_cycle,
            ("save-and-next",),
        )
        print(f"\nDouble assignments: {double_assignments()}")
        print(
            f"Highest rate sustained with p95 < {P95_BOUND * 1000:.0f} ms: floor {floor:.0f} requests/s, "
            f"review {cycles:.0f} cycles/s"
        )
        if floor:
            print(f"Review cycles / floor requests: {cycles / floor:.2f} (goal: at least 0.5)")
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        server.stop()


if __name__ == "__main__":
    main()
