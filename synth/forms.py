"""Forms for launching runs and adding the material techniques work on (queries, documents)."""

from django import forms
from django.core.exceptions import ImproperlyConfigured

from core.uploads import oversized_message
from synth.generation import MAX_RUN_SIZE, available_techniques
from synth.models import Domain, Teacher
from synth.techniques import TECHNIQUES, option_fields, option_owners


class LaunchRunForm(forms.Form):
    teacher = forms.ModelChoiceField(queryset=Teacher.objects.all(), empty_label=None)
    technique = forms.ChoiceField(choices=available_techniques)
    domains = forms.ModelMultipleChoiceField(
        queryset=Domain.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to spread the run over every domain.",
    )
    fill_gaps = forms.BooleanField(
        label="Fill the domains furthest below target",
        required=False,
        help_text="Instead of the ticked domains, steer the run to the (up to three) domains whose share of "
        "kept candidates is furthest below the target set in the admin.",
    )
    requested_count = forms.IntegerField(
        label="Candidates to generate", min_value=1, max_value=MAX_RUN_SIZE, initial=20
    )
    sample_percent = forms.IntegerField(
        label="Share sent to physicians (%)",
        min_value=0,
        max_value=100,
        initial=50,
        help_text="Of the candidates that pass the quality gate. High-risk domains are always reviewed. "
        "A default sampling policy, when one exists, applies instead (the rule is shown below).",
    )
    use_batch_api = forms.BooleanField(
        label="Use the provider's batch API",
        required=False,
        help_text="OpenAI and Anthropic teachers only: half the price, results within 24 hours.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Every technique's options (synth/techniques/): each applies to one technique and is ignored by
        # the others. The page shows only the chosen technique's (static/launch-form.js); without
        # JavaScript all are shown, and the others' values are ignored here (see clean).
        self.option_owner = option_owners()
        for name, field in option_fields().items():
            if name in self.fields:
                raise ImproperlyConfigured(
                    f"A technique's option '{name}' has the name of a launch form field."
                )
            self.fields[name] = field

    def clean(self) -> dict:
        data = super().clean()
        chosen = data.get("technique")
        for name, owner in self.option_owner.items():
            if owner != chosen:  # another technique's option: neither checked nor kept
                self.errors.pop(name, None)
                data.pop(name, None)
        return data

    def general_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in self.option_owner]

    def technique_sections(self) -> list[dict]:
        """Each technique that has options, with its options' fields, in the technique menu's order."""
        return [
            {"name": name, "label": technique.label, "fields": fields}
            for name, technique in TECHNIQUES.items()
            if (fields := [self[f] for f, owner in self.option_owner.items() if owner == name])
        ]

    def options(self) -> dict:
        """The chosen technique's options, as the run stores them."""
        technique = TECHNIQUES.get(self.cleaned_data.get("technique"))
        return technique.Options.from_form(self.cleaned_data) if technique else {}


class QueryUploadForm(forms.Form):
    name = forms.CharField(max_length=200)
    file = forms.FileField(
        required=False,
        help_text="JSON Lines or CSV (a query, instruction or question column), or a .txt file with one "
        "query per line.",
    )
    typed = forms.CharField(
        label="Or type the questions", widget=forms.Textarea(attrs={"rows": 6}), required=False,
        help_text="One per line.",
    )  # fmt: skip

    def __init__(self, *args, oversized: list[str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.oversized = oversized or []  # files the upload handler dropped for their size

    def clean(self):
        data = super().clean()
        if self.oversized:
            self.add_error("file", oversized_message(self.oversized[0]))
        elif not data.get("file") and not (data.get("typed") or "").strip() and "file" not in self.errors:
            self.add_error("file", "Choose a file to upload, or type the questions below.")
        return data


class DocumentForm(forms.Form):
    title = forms.CharField(max_length=200)
    domain = forms.ModelChoiceField(queryset=Domain.objects.all(), required=False)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 10}), help_text="De-identified text only.")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class DocumentUploadForm(forms.Form):
    files = forms.Field(
        label="Files",
        required=False,
        widget=MultipleFileInput(attrs={"accept": ".txt,.md,.markdown,.jsonl"}),
        help_text="Plain text or Markdown (one document each, titled by its first heading or its file "
        'name), or JSON Lines (one {"title": ..., "text": ..., "domain": ...} per line). Several at once.',
    )
    domain = forms.ModelChoiceField(
        queryset=Domain.objects.all(), required=False, help_text="For the documents that name none."
    )
