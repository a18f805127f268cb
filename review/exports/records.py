"""Which records an export holds, and how each becomes a training record (SFT or DPO) with its provenance.

Records are read as plain values (no model instances) from one streamed query, a page at a time, with
each page's reviews fetched in one more query, so memory stays flat however many records there are.
An export's build reads the pages ahead in a thread of its own while it writes (read_ahead).
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import pyarrow as pa
from django.conf import settings as django_settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q, QuerySet

from core.own_connection import connection_outside_the_pool
from review.exports.last_gate import withheld_reason
from review.exports.pseudonyms import Pseudonyms
from review.exports.settings import ExportSettings
from review.models import APPROVING_VERDICTS, Adjudication, Decision, Preference, ReviewItem, Verdict
from synth.models import Candidate
from synth.quality.phi import SCREEN_VERSION

ITEM_FIELDS = (
    "pk",
    "final_verdict",
    "final_preference",
    "final_revision_id",
    "candidate__instruction",
    "candidate__input",
    "candidate__output",
    "candidate__rejected_output",
    "candidate__technique",
    "candidate__teacher_provider",
    "candidate__teacher_model",
    "candidate__domain__name",
    "final_revision__instruction",
    "final_revision__input",
    "final_revision__output",
    "candidate__phi_free_under",
    "final_revision__phi_free_under",
)
CANDIDATE_FIELDS = (
    "pk",
    "instruction",
    "input",
    "output",
    "rejected_output",
    "technique",
    "teacher_provider",
    "teacher_model",
    "domain__name",
    "phi_free_under",
)

_MESSAGES = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
_REVIEWS = pa.list_(
    pa.struct(
        [
            ("reviewer", pa.string()),
            ("role", pa.string()),
            ("verdict", pa.string()),
            ("preference", pa.string()),
        ]
    )
)
PROVENANCE_SCHEMA = [
    ("id", pa.string()),
    ("domain", pa.string()),
    ("technique", pa.string()),
    ("teacher", pa.string()),
    ("teacher_model", pa.string()),
    ("reviewed", pa.bool_()),
    ("released", pa.bool_()),
    ("edited", pa.bool_()),
    ("verdict", pa.string()),
    ("reviews", _REVIEWS),
]
CONTENT_SCHEMA = {
    ("sft", "messages"): [("messages", _MESSAGES)],
    ("sft", "prompt_completion"): [("prompt", _MESSAGES), ("completion", _MESSAGES)],
    ("sft", "alpaca"): [("instruction", pa.string()), ("input", pa.string()), ("output", pa.string())],
    ("dpo", None): [("prompt", _MESSAGES), ("chosen", _MESSAGES), ("rejected", _MESSAGES)],
}


def schema_for(settings: ExportSettings) -> pa.Schema:
    style = settings.sft_style if settings.kind == "sft" else None
    return pa.schema(CONTENT_SCHEMA[(settings.kind, style)] + PROVENANCE_SCHEMA)


def approved_items() -> QuerySet[ReviewItem]:
    """Items physicians approved (accepted, or accepted after editing), oldest first.

    A candidate the gate held back (PHI findings) stays out unless a physician's edit replaced its text
    and that edit's whole text passed the PHI screen; an edit with PHI findings stays out either way.
    """
    return (
        ReviewItem.objects.filter(status=ReviewItem.Status.DECIDED, final_verdict__in=APPROVING_VERDICTS)
        .filter(
            Q(candidate__held_back=False, final_revision__isnull=True)
            | Q(final_revision__isnull=False, final_revision__has_phi=False)
        )
        .order_by("pk")
    )


def released_candidates() -> QuerySet[Candidate]:
    """Released records: a released batch's candidates that passed the gate, not held back, not sampled."""
    return Candidate.objects.filter(
        run__batch__released_at__isnull=False,
        status=Candidate.Status.PASSED,
        held_back=False,
        review_item__isnull=True,
    ).order_by("pk")


@dataclass
class Selection:
    """The records an export's settings select: counts after each filter, and the querysets to read."""

    items: QuerySet[ReviewItem]
    released: QuerySet[Candidate] | None
    filter_counts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.filter_counts[-1]["records"] if self.filter_counts else 0


def _kind_filters(settings: ExportSettings) -> tuple[Q, Q]:
    """What a kind needs of a reviewed item and of a released candidate."""
    if settings.kind == "sft":
        return Q(), Q()
    pair = ~Q(candidate__rejected_output="") & Q(
        final_preference__in=[Preference.OUTPUT, Preference.REJECTED_OUTPUT]
    )
    if settings.dpo_from_edits:
        pair |= Q(candidate__rejected_output="", final_verdict=Verdict.EDIT)
    return pair, ~Q(rejected_output="")


def filter_steps(settings: ExportSettings, *, domain_alphas: Callable[[], dict]) -> list[tuple[str, Q, Q]]:
    """The settings' filters in order, each as (what it keeps, its Q on items, its Q on released candidates)."""
    steps: list[tuple[str, Q, Q]] = []
    item_q, candidate_q = _kind_filters(settings)
    if settings.kind == "dpo":
        described = "preference pairs with a preferred response (ties and 'both unacceptable' left out)"
        if settings.dpo_from_edits:
            described += ", and physicians' edits"
        steps.append((described, item_q, candidate_q))
    if settings.domains:
        steps.append(
            (
                f"domain in {', '.join(settings.domains)}",
                Q(candidate__domain__slug__in=settings.domains),
                Q(domain__slug__in=settings.domains),
            )
        )
    if settings.techniques:
        steps.append(
            (
                f"technique in {', '.join(settings.techniques)}",
                Q(candidate__technique__in=settings.techniques),
                Q(technique__in=settings.techniques),
            )
        )
    if settings.date_from:
        steps.append(
            (
                f"generated on or after {settings.date_from}",
                Q(candidate__created_at__date__gte=settings.date_from),
                Q(created_at__date__gte=settings.date_from),
            )
        )
    if settings.date_to:
        steps.append(
            (
                f"generated on or before {settings.date_to}",
                Q(candidate__created_at__date__lte=settings.date_to),
                Q(created_at__date__lte=settings.date_to),
            )
        )
    if settings.min_agreement is not None:
        trusted = [
            slug
            for slug, alpha in domain_alphas().items()
            if alpha is not None and alpha >= settings.min_agreement
        ]
        steps.append(
            (
                f"domain agreement (Krippendorff's alpha) at least {settings.min_agreement}",
                Q(candidate__domain__slug__in=trusted),
                Q(domain__slug__in=trusted),
            )
        )
    return steps


def _selected(settings: ExportSettings, snapshot: dt.datetime) -> tuple[QuerySet, QuerySet | None]:
    """What an export made at `snapshot` starts from: approved items, and released records if asked for."""
    items = approved_items().filter(decided_at__lte=snapshot)
    released = (
        released_candidates().filter(run__batch__released_at__lte=snapshot, created_at__lte=snapshot)
        if settings.include_released
        else None
    )
    return items, released


def select(
    settings: ExportSettings, *, snapshot: dt.datetime, domain_alphas: Callable[[], dict]
) -> Selection:
    """Apply the settings' filters one by one, counting what each leaves (the dataset card lists them)."""
    items, released = _selected(settings, snapshot)
    counts: list[dict[str, Any]] = []

    def step(name: str, item_q: Q, candidate_q: Q) -> None:
        nonlocal items, released
        items = items.filter(item_q)
        if released is not None:
            released = released.filter(candidate_q)
        counts.append(
            {"step": name, "records": items.count() + (released.count() if released is not None else 0)}
        )

    step("approved by physicians" + (" or released" if released is not None else ""), Q(), Q())
    for name, item_q, candidate_q in filter_steps(settings, domain_alphas=domain_alphas):
        step(name, item_q, candidate_q)
    return Selection(items=items, released=released, filter_counts=counts)


def export_selection(
    settings: ExportSettings, *, snapshot: dt.datetime, domain_alphas: Callable[[], dict]
) -> tuple[QuerySet[ReviewItem], QuerySet[Candidate] | None]:
    """The items (and released candidates) an export with these settings made at `snapshot` selected,
    before its last gate, with no counting: for a page that asks which records an export holds.

    Exports keep no list of their records, so this applies their filters again: agreement filters use
    today's agreement figures, and an item whose decision changed after the snapshot is judged as it
    stands now."""
    items, released = _selected(settings, snapshot)
    for _name, item_q, candidate_q in filter_steps(settings, domain_alphas=domain_alphas):
        items = items.filter(item_q)
        if released is not None:
            released = released.filter(candidate_q)
    return items, released


def export_holds(
    settings: ExportSettings,
    *,
    snapshot: dt.datetime,
    candidate_id: int,
    domain_alphas: Callable[[], dict],
) -> bool:
    """Whether an export with these settings, made at `snapshot`, wrote this candidate's record: its
    filters (export_selection) and its last gate applied to the one record, by primary key."""
    items, released = export_selection(settings, snapshot=snapshot, domain_alphas=domain_alphas)
    shaper = RecordShaper(settings)
    row = items.filter(candidate_id=candidate_id).values_list(*ITEM_FIELDS).first()
    if row is not None:
        return shaper.item(row, []) is not None
    if released is None:
        return False
    row = released.filter(pk=candidate_id).values_list(*CANDIDATE_FIELDS).first()
    return row is not None and shaper.released(row) is not None


def _pages(queryset: QuerySet, fields: tuple[str, ...]) -> Iterator[list[tuple]]:
    """Rows as plain tuples in pages, from one streamed query (a server-side cursor on PostgreSQL):
    flat memory, and no model instance or per-row dict on the way."""
    size = django_settings.EXPORT_PAGE_SIZE
    rows = queryset.order_by("pk").values_list(*fields).iterator(chunk_size=size)
    while page := list(islice(rows, size)):
        yield page


def _reviews_for(first: int, last: int, pseudonym: Callable[[int], str]) -> dict[int, list[dict[str, str]]]:
    """The reviews of the items whose ids lie in [first, last] (a page's range: two parameters, not
    thousands; items outside the export in that range are simply never looked up), reviewers as
    pseudonyms (review.exports.pseudonyms).

    Records share one dict per distinct review (who, in what role, which verdict): a page holds
    thousands of reviews but only as many distinct ones as reviewers times verdicts, and records
    are only ever read (encoded, then dropped)."""
    reviews: dict[int, list[dict[str, str]]] = defaultdict(list)
    for role, rows in (
        (
            "reviewer",
            Decision.objects.filter(item_id__gte=first, item_id__lte=last)
            .order_by("item_id", "created_at", "pk")
            .values_list("item_id", "reviewer_id", "verdict", "preference"),
        ),
        (
            "adjudicator",
            Adjudication.objects.filter(item_id__gte=first, item_id__lte=last)
            .order_by("item_id", "created_at", "pk")
            .values_list("item_id", "adjudicator_id", "verdict", "preference"),
        ),
    ):
        shared: dict[tuple, dict[str, str]] = {}
        for item_id, user_id, verdict, preference in rows:
            review = shared.get((user_id, verdict, preference))
            if review is None:
                review = shared[user_id, verdict, preference] = {
                    "reviewer": pseudonym(user_id),
                    "role": role,
                    "verdict": verdict,
                    "preference": preference,
                }
            reviews[item_id].append(review)
    return reviews


def _prompt_text(instruction: str, task_input: str) -> str:
    return instruction if not task_input else f"{instruction}\n\n{task_input}"


class RecordShaper:
    """Turns one reviewed item's (or released candidate's) values into the export's record shape, or
    withholds it (review.exports.last_gate), counting why in `withheld`; `seen` counts both."""

    def __init__(self, settings: ExportSettings, pseudonyms: Pseudonyms | None = None) -> None:
        self.settings = settings
        self.pseudonyms = pseudonyms or Pseudonyms(stable=settings.stable_pseudonyms)
        self.withheld: Counter[str] = Counter()
        self.seen = 0
        self.system = (
            [{"role": "system", "content": settings.system_prompt}] if settings.system_prompt.strip() else []
        )

    def content(self, instruction: str, task_input: str, chosen: str, rejected: str | None) -> dict[str, Any]:
        user = [*self.system, {"role": "user", "content": _prompt_text(instruction, task_input)}]
        if self.settings.kind == "dpo":
            return {
                "prompt": user,
                "chosen": [{"role": "assistant", "content": chosen}],
                "rejected": [{"role": "assistant", "content": rejected or ""}],
            }
        style = self.settings.sft_style
        if style == "alpaca":
            return {"instruction": instruction, "input": task_input, "output": chosen}
        answer = [{"role": "assistant", "content": chosen}]
        if style == "prompt_completion":
            return {"prompt": user, "completion": answer}
        return {"messages": [*user, *answer]}

    def _record(
        self,
        instruction: str,
        task_input: str,
        chosen: str,
        rejected: str | None,
        screened: bool,
        provenance: dict[str, Any],
    ) -> dict[str, Any] | None:
        self.seen += 1
        reason = withheld_reason(
            kind=self.settings.kind,
            instruction=instruction,
            task_input=task_input,
            chosen=chosen,
            rejected=rejected,
            screened=screened,
        )
        if reason:
            self.withheld[reason] += 1
            return None
        return {**self.content(instruction, task_input, chosen, rejected), **provenance}

    def item(self, row: tuple, reviews: list[dict[str, str]]) -> dict[str, Any] | None:
        """`row` holds ITEM_FIELDS' values, in that order."""
        (
            pk, verdict, preference, revision_id, instruction, task_input, output, rejected_output,
            technique, provider, model, domain, revised_instruction, revised_input, revised_output,
            candidate_free_under, revision_free_under,
        ) = row  # fmt: skip
        edited = revision_id is not None
        # Every text of the record comes from the candidate or its final revision: both stamped free
        # of PHI by the current screen means the same screen would find nothing now either.
        screened = candidate_free_under == SCREEN_VERSION and (
            not edited or revision_free_under == SCREEN_VERSION
        )
        if preference == Preference.REJECTED_OUTPUT:
            chosen, rejected = rejected_output, output
        else:  # the judge's preferred response (also for a tie, or a single response)
            chosen, rejected = output, rejected_output
        if edited:
            # The physician's edit replaces the preferred response (and may correct the prompt).
            instruction, task_input, chosen = revised_instruction, revised_input, revised_output
            if not rejected_output:
                rejected = output  # DPO from edits: the original is the rejected one
        return self._record(
            instruction, task_input, chosen, rejected, screened,
            {
                "id": f"item-{pk}",
                "domain": domain or "",
                "technique": technique,
                "teacher": provider,
                "teacher_model": model,
                "reviewed": True,
                "released": False,
                "edited": edited,
                "verdict": verdict,
                "reviews": reviews,
            },
        )  # fmt: skip

    def released(self, row: tuple) -> dict[str, Any] | None:
        """`row` holds CANDIDATE_FIELDS' values, in that order."""
        (
            pk,
            instruction,
            task_input,
            output,
            rejected_output,
            technique,
            provider,
            model,
            domain,
            free_under,
        ) = row
        screened = free_under == SCREEN_VERSION
        return self._record(instruction, task_input, output, rejected_output, screened, {
            "id": f"candidate-{pk}",
            "domain": domain or "",
            "technique": technique,
            "teacher": provider,
            "teacher_model": model,
            "reviewed": False,
            "released": True,
            "edited": False,
            "verdict": "",
            "reviews": [],
        })  # fmt: skip


def record_pages(
    selection: Selection, shaper: RecordShaper, *, read_ahead_pages: bool = False
) -> Iterator[list[dict[str, Any]]]:
    """The selected records, a page at a time: reviewed items first, then released records. Withheld
    records are left out of their page (which may then be empty) and counted by the shaper.

    `read_ahead_pages`: read the pages in a thread with a second database connection (read_ahead).
    Only for an export's build, in the task worker or the export command: never in a web request,
    whose process's pool must not lend one request two connections."""
    no_reviews: list[dict[str, str]] = []

    def fetched() -> Iterator[tuple[list[tuple], dict[int, list[dict[str, str]]] | None]]:
        return _fetched_pages(selection, shaper.pseudonyms)

    for rows, reviews in read_ahead(fetched) if read_ahead_pages else fetched():
        if reviews is None:
            yield [record for record in map(shaper.released, rows) if record is not None]
        else:
            records = [shaper.item(row, reviews.get(row[0], no_reviews)) for row in rows]
            yield [record for record in records if record is not None]


def _fetched_pages(
    selection: Selection, pseudonym: Callable[[int], str]
) -> Iterator[tuple[list[tuple], dict[int, list[dict[str, str]]] | None]]:
    """(rows, their reviews) a page of reviewed items at a time, then (rows, None) for released records."""
    for page in _pages(selection.items, ITEM_FIELDS):
        yield page, _reviews_for(page[0][0], page[-1][0], pseudonym)
    if selection.released is not None:
        for page in _pages(selection.released, CANDIDATE_FIELDS):
            yield page, None


# Pages read ahead of the one being written: two keep the reader busy without holding much memory.
READ_AHEAD_PAGES = 2
_DONE = object()


def read_ahead(pages: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """`pages()`, read by a thread of its own while the caller writes the pages before.

    PostgreSQL works in its own process, on the other core, while this one encodes and writes. The
    thread opens a connection of its own, outside the process's pool (a pool is sized for its
    threads, one connection each), and reads in one transaction: every query of the export sees one
    snapshot, and the server-side cursor streams (outside a transaction it is WITH HOLD, and
    PostgreSQL materialises the whole result before the first page). The caller's own connection
    stays free for the export's progress and lease. Read in the caller's thread instead on SQLite,
    where a long read transaction beside the writer gains nothing, and inside a caller's transaction,
    whose rows another connection cannot see (the test suite's).
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield from pages()
        return
    handed_over: queue.Queue = queue.Queue(maxsize=READ_AHEAD_PAGES)
    stopped = threading.Event()

    def hand_over(value: Any) -> bool:
        while not stopped.is_set():
            try:
                handed_over.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the caller stopped reading (it failed, or was closed)

    def read() -> None:
        own = connection_outside_the_pool()
        connections[DEFAULT_DB_ALIAS] = own  # this thread's (Django's connections are per thread)
        try:
            with transaction.atomic():
                for page in pages():
                    if not hand_over(page):
                        return
            hand_over(_DONE)
        except BaseException as error:  # handed to the caller, raised there
            hand_over(error)
        finally:
            own.close()

    reader = threading.Thread(target=read, name="export-reader", daemon=True)
    reader.start()
    try:
        while (page := handed_over.get()) is not _DONE:
            if isinstance(page, BaseException):
                raise page
            yield page
    finally:
        stopped.set()
        reader.join()


def sft_records(settings: ExportSettings | None = None) -> Iterator[dict[str, Any]]:
    """Every approved record as SFT (conversational messages unless the settings say otherwise)."""
    from django.utils import timezone

    settings = settings or ExportSettings()
    selection = select(settings, snapshot=timezone.now(), domain_alphas=dict)
    for page in record_pages(selection, RecordShaper(settings)):
        yield from page
