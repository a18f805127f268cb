"""Blind double review compares the texts approving reviewers ended with (Decision.text_digest), and an
edit is PHI-screened on its whole text (ItemRevision.phi_findings): both filled in for existing rows."""

from django.db import migrations, models


def fill(apps, schema_editor):
    # The same functions the queue uses: pure text in, text out, so the backfill matches new rows.
    from review.settling import text_digest
    from synth.quality.phi import KINDS, find_phi

    labels = {
        "instruction": "Instruction",
        "input": "Input",
        "output": "Response",
        "rejected_output": "Rejected response",
    }
    ItemRevision = apps.get_model("review", "ItemRevision")
    Decision = apps.get_model("review", "Decision")
    for revision in ItemRevision.objects.select_related("item__candidate").iterator():
        candidate = revision.item.candidate
        fields = {"instruction": revision.instruction, "input": revision.input, "output": revision.output}
        if candidate.rejected_output:
            # Which response was edited is on the decision; screening both responses is the safe side.
            fields["rejected_output"] = f"{candidate.output}\n{candidate.rejected_output}"
        findings = [
            {"field": name, "field_label": labels[name], "label": KINDS[f.kind], **f.as_dict()}
            for name, text in fields.items()
            for f in find_phi(text)
        ]
        revision.phi_findings, revision.has_phi = findings, bool(findings)
        revision.save(update_fields=["phi_findings", "has_phi"])
    approving = Decision.objects.filter(verdict__in=["accept", "edit"]).select_related(
        "item__candidate", "revision"
    )
    for decision in approving.iterator():
        candidate, revision = decision.item.candidate, decision.revision
        if revision is not None:
            text = (revision.instruction, revision.input, revision.output)
        else:
            chosen = (
                candidate.rejected_output if decision.preference == "rejected_output" else candidate.output
            )
            text = (candidate.instruction, candidate.input, chosen)
        decision.text_digest = text_digest(*text)
        decision.save(update_fields=["text_digest"])


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0009_export_empty_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="decision",
            name="text_digest",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="itemrevision",
            name="has_phi",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="itemrevision",
            name="phi_findings",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
