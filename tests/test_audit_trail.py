"""The audit trail: who did what and when, for decisions, edits, configuration, exports and logins;
visible and filterable by the administrator, and never edited or deleted through the application."""

import json

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from review.models import Assignment, Decision, Export, ItemRevision
from synth.models import Teacher
from tests.conftest import PASSWORD, teacher_form

HTMX = {"HX-Request": "true"}


def entries_for(model, action=None):
    entries = LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model))
    return entries.filter(action=action) if action is not None else entries


def decide(client, reviewer, data):
    client.get(reverse("review:review"))
    assignment = Assignment.objects.get(reviewer=reviewer, status="active")
    return client.post(reverse("review:decide", args=[assignment.pk]), data, headers=HTMX)


def test_a_decision_is_recorded_with_who_when_and_what(client_for, physician, review_items):
    decide(client_for(physician), physician, {"verdict": "reject", "reasons": ["unsafe"]})
    decision = Decision.objects.get()
    entry = entries_for(Decision, LogEntry.Action.CREATE).get(object_id=decision.pk)
    assert entry.actor == physician and entry.timestamp is not None
    assert entry.changes["verdict"] == [None, "reject"]
    # The item's settled verdict is recorded as a change of the item, by the same reviewer.
    item_entry = entries_for(type(decision.item), LogEntry.Action.UPDATE).get(object_id=decision.item_id)
    assert item_entry.actor == physician and item_entry.changes["final_verdict"][1] == "reject"


def test_a_settled_items_entry_is_the_one_auditlog_writes_itself(
    client_for, physician, review_items, monkeypatch
):
    """The decision's and the item's entries are built by core.audit (the item's from the row as
    locked, not read again) and written in one INSERT: the same entries as django-auditlog's own
    (which reads the row again before the save, and writes each entry by itself), field for field."""
    import contextlib
    import re
    from datetime import UTC, datetime

    from django.utils import timezone

    from review.queue import decisions

    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    client = client_for(physician)
    page = client.get(reverse("review:review"))

    def save_and_next(verdict):
        shown = re.search(r'data-assignment="(\d+)"', page.text).group(1)
        data = {"verdict": verdict, "reasons": ["unsafe"]}
        return client.post(reverse("review:decide", args=[shown]), data, headers=HTMX)

    for verdict in ("accept", "reject"):
        page = save_and_next(verdict)
        with monkeypatch.context() as auditlogs_own:  # the same decision, logged by django-auditlog
            auditlogs_own.setattr(decisions, "disable_auditlog", contextlib.nullcontext)
            auditlogs_own.setattr(decisions, "created_entry", lambda decision: None)
            auditlogs_own.setattr(decisions, "updated_entry", lambda item, **kwargs: None)
            page = save_and_next(verdict)
        for model, action, changed in (
            (type(review_items[0]), LogEntry.Action.UPDATE, "final_verdict"),
            (Decision, LogEntry.Action.CREATE, "verdict"),
        ):
            ours, theirs = entries_for(model, action).order_by("-pk")[:2][::-1]
            assert ours.object_id != theirs.object_id
            assert ours.changes[changed][1] == verdict and ours.actor == physician
            fields = ("changes_text", "actor_id", "actor_email", "action", "remote_addr", "remote_port")
            fields += ("serialized_data", "additional_data", "content_type_id")
            assert [getattr(ours, f) for f in fields] == [getattr(theirs, f) for f in fields]
            # The same fields changed, to the same values but for the two decisions' own ids and texts.
            own = {"id", "assignment", "item", "text_digest"}
            assert ours.changes.keys() == theirs.changes.keys()
            assert {k: v for k, v in ours.changes.items() if k not in own} == {
                k: v for k, v in theirs.changes.items() if k not in own
            }
            assert re.sub(r"\d+", "#", ours.object_repr) == re.sub(r"\d+", "#", theirs.object_repr)


def test_an_edit_is_recorded_with_its_new_text(client_for, physician, review_items):
    item = review_items[0]
    decide(
        client_for(physician),
        physician,
        {
            "verdict": "edit",
            "instruction": item.candidate.instruction,
            "output": "A corrected answer.",
            "based_on": 0,
        },
    )
    revision = ItemRevision.objects.get()
    entry = entries_for(ItemRevision, LogEntry.Action.CREATE).get(object_id=revision.pk)
    assert entry.actor == physician
    assert entry.changes["output"][1] == "A corrected answer."


def test_a_configuration_change_is_recorded_without_any_key(client_for, administrator, settings, db):
    settings.TEACHER_API_KEYS = {"OPENAI_API_KEY": "sk-live-secret-value-123456"}
    teacher = Teacher.objects.create(
        name="gpt", provider="openai", model="gpt-4.1", api_key_env="OPENAI_API_KEY"
    )
    r = client_for(administrator).post(
        f"/admin/synth/teacher/{teacher.pk}/change/",
        teacher_form(name="gpt", model="gpt-4.1-mini", timeout_seconds="60"),
    )
    assert r.status_code == 302, r.text[:2000]
    entry = entries_for(Teacher, LogEntry.Action.UPDATE).get(object_id=teacher.pk)
    assert entry.actor == administrator
    assert entry.changes["model"] == ["gpt-4.1", "gpt-4.1-mini"]
    everything = json.dumps(list(LogEntry.objects.values("changes", "serialized_data", "additional_data")))
    assert "sk-live-secret-value-123456" not in everything


def test_an_export_is_recorded_with_who_asked_for_it(client_for, data_lead, db):
    client_for(data_lead).post(
        reverse("review:export_create"), {"kind": "sft", "format": "jsonl"}, headers=HTMX
    )
    export = Export.objects.get()
    assert entries_for(Export, LogEntry.Action.CREATE).get(object_id=export.pk).actor == data_lead


def test_logins_and_logouts_are_recorded(client, physician):
    client.post(reverse("login"), {"username": "physician", "password": PASSWORD})
    client.post(reverse("logout"))
    events = list(
        LogEntry.objects.filter(action=LogEntry.Action.ACCESS, actor=physician)
        .order_by("timestamp")
        .values_list("additional_data__event", "remote_addr")
    )
    assert events == [("login", "127.0.0.1"), ("logout", "127.0.0.1")]


def test_the_administrator_can_read_and_filter_the_log_but_never_change_it(
    client_for, administrator, physician
):
    client = client_for(administrator)
    entry = LogEntry.objects.filter(actor=administrator).first()
    assert entry is not None  # the login itself
    listing = client.get("/admin/auditlog/logentry/", {"action__exact": LogEntry.Action.ACCESS})
    assert listing.status_code == 200 and f">{entry.object_repr}<" in listing.text
    assert client.get("/admin/auditlog/logentry/add/").status_code == 403
    assert client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert (
        client.post(f"/admin/auditlog/logentry/{entry.pk}/change/", {"changes_text": "x"}).status_code == 403
    )
    assert LogEntry.objects.filter(pk=entry.pk, changes_text="").exists()
    # A physician does not see it at all.
    r = client_for(physician).get("/admin/auditlog/logentry/")
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
