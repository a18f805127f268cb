"""The demo as its users run it, for the export tests: seed_demo, a `generate` run, physicians deciding
on the review pages (Django's test client), the senior settling disputes on the adjudication page."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from review.models import Assignment, ReviewItem

HTMX = {"HX-Request": "true"}
# What real accounts carry besides a username: none of it may reach an export.
PEOPLE = {
    "physician": ("Amara", "Okonkwo-Lindqvist", "amara.okonkwo@hospital.example"),
    "physician2": ("Tobiah", "Vasquez-Renner", "tobiah.vasquez@hospital.example"),
    "senior": ("Ingrid", "Halvorsen-Mbeki", "ingrid.halvorsen@hospital.example"),
    "datalead": ("Rafael", "Quintanilla-Oduya", "rafael.quintanilla@hospital.example"),
}


def seed_demo() -> dict:
    """The demo's defaults and accounts; the accounts get names and e-mails, as a hospital's would."""
    call_command("seed_demo")
    users = {u.username: u for u in get_user_model().objects.all()}
    for username, (first, last, email) in PEOPLE.items():
        user = users[username]
        user.first_name, user.last_name, user.email = first, last, email
        user.save(update_fields=["first_name", "last_name", "email"])
    return users


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def double_review_policy(admin) -> None:
    """The administrator adds a default sampling policy in the admin: every item, two physicians each."""
    r = logged_in(admin).post(
        reverse("admin:review_samplingpolicy_add"),
        {
            "name": "Everything, twice",
            "rate": "1",
            "min_per_stratum": "1",
            "overlap_fraction": "1",
            "overlap_reviewers": "2",
            "acceptance_threshold": "0.9",
            "rules-TOTAL_FORMS": "0",
            "rules-INITIAL_FORMS": "0",
            "rules-MIN_NUM_FORMS": "0",
            "rules-MAX_NUM_FORMS": "1000",
        },
    )
    assert r.status_code == 302, r.text[:3000]


def generate(count: int = 6, domain: str = "infectious-disease") -> list[ReviewItem]:
    """An offline Self-Instruct run through `manage.py generate`, every passed candidate sent to review."""
    call_command(
        "generate", "--technique", "self_instruct", "--teacher", "offline", "--count", str(count),
        "--sample", "1", "--domain", domain, stdout=io.StringIO(),
    )  # fmt: skip
    items = list(ReviewItem.objects.select_related("candidate").order_by("pk"))
    assert len(items) >= 3, "the offline run should leave at least three items to review"
    return items


def decide(client: Client, verdict: str, **fields: str) -> ReviewItem:
    """Open the review page, and decide on the item it shows (as a physician would, with its form)."""
    page = client.get(reverse("review:review"))
    assert page.status_code == 200
    found = re.search(r"/review/assignments/(\d+)/decide/", page.text)
    assert found, "the review page shows no item"
    assignment = Assignment.objects.select_related("item__candidate").get(pk=int(found.group(1)))
    data = {"verdict": verdict, **fields}
    based_on = re.search(r'name="based_on" value="(\d+)"', page.text)
    if based_on:
        data["based_on"] = based_on.group(1)
    if verdict == "reject":
        data.setdefault("reasons", ["factually_wrong"])
    r = client.post(reverse("review:decide", args=[assignment.pk]), data, headers=HTMX)
    assert r.status_code == 200, r.text[:3000]
    return assignment.item


def edit(client: Client, *, output: str | None = None, instruction: str | None = None) -> ReviewItem:
    """Edit the shown item: its texts as shown, with the given changes."""
    page = client.get(reverse("review:review"))
    found = re.search(r"/review/assignments/(\d+)/decide/", page.text)
    candidate = (
        Assignment.objects.select_related("item__candidate").get(pk=int(found.group(1))).item.candidate
    )
    return decide(
        client,
        "edit",
        instruction=candidate.instruction if instruction is None else instruction,
        input=candidate.input,
        output=candidate.output if output is None else output,
    )


def adjudicate(client: Client, item: ReviewItem, verdict: str) -> None:
    url = reverse("review:adjudicate", args=[item.pk])
    page = client.get(url)
    assert page.status_code == 200
    data = {"verdict": verdict, "comment": "Settled against the guideline."}
    based_on = re.search(r'name="based_on" value="(\d+)"', page.text)
    if based_on:
        data["based_on"] = based_on.group(1)
    r = client.post(url, data)
    assert r.status_code == 302, r.text[:3000]


def export_from_dashboard(client: Client, capture, **data: str):
    """The data lead's export form on the dashboard; the (immediate) task backend builds it."""
    from review.models import Export

    with capture(execute=True):
        r = client.post(
            reverse("review:export_create"), {"kind": "sft", "format": "jsonl", **data}, headers=HTMX
        )
    assert r.status_code == 200, r.text[:3000]
    return Export.objects.order_by("-pk").first()


def exported_texts(folder: Path) -> dict[str, str]:
    """Every file of an export folder as text (Parquet files as their rows in JSON)."""
    texts = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = str(path.relative_to(folder))
        if path.suffix == ".parquet":
            texts[name] = json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False)
        else:
            texts[name] = path.read_text(encoding="utf-8-sig")
    return texts


def zip_texts(client: Client, export) -> dict[str, str]:
    """Every file of the export's zip download, as text (Parquet as JSON rows)."""
    r = client.get(reverse("review:export_download", args=[export.pk]))
    assert r.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(r.streaming_content)))
    texts = {"(zip listing)": "\n".join(archive.namelist())}
    for name in archive.namelist():
        data = archive.read(name)
        if name.endswith(".parquet"):
            texts[name] = json.dumps(pq.read_table(io.BytesIO(data)).to_pylist(), ensure_ascii=False)
        else:
            texts[name] = data.decode("utf-8-sig")
    return texts


def identity_leaks(texts: dict[str, str], users) -> list[str]:
    """Each username, name, e-mail or user id found in the texts, with the file it is in."""
    leaks = []
    for user in users:
        # A username as a word of its own ("physician" the account, not "physicians" or "a physician's").
        patterns = [rf"(?<![\w.-]){re.escape(user.username)}(?![\w'’@-])"]
        patterns += [re.escape(v) for v in (user.first_name, user.last_name, user.email) if v]
        patterns += [
            rf"reviewer-{user.pk}\b",
            rf'"(?:reviewer|user|adjudicator)(?:_[ab])?_id"\s*:\s*{user.pk}\b',
        ]
        for name, text in texts.items():
            leaks += [f"{name}: {m.group(0)!r}" for p in patterns for m in re.finditer(p, text)]
    leaks += [
        f"{n}: {m.group(0)!r}" for n, t in texts.items() for m in re.finditer(r"[\w.+-]+@[\w-]+\.\w+", t)
    ]
    return leaks
