from django import forms

from review.exports.formats import format_choices
from review.exports.settings import SFT_STYLES
from review.models import Export, RejectReason, Verdict
from synth.models import Domain, technique_choices


class DecisionForm(forms.Form):
    """Parses a decision's fields; what makes a decision valid is checked by review.queue."""

    verdict = forms.CharField()
    reasons = forms.MultipleChoiceField(
        choices=RejectReason.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(required=False, strip=True)
    # The comment box beside Accept: a comment on any verdict (the reject panel's is the same comment).
    note = forms.CharField(required=False, strip=True)
    instruction = forms.CharField(required=False, strip=False)
    input = forms.CharField(required=False, strip=False)
    output = forms.CharField(required=False, strip=False)
    based_on = forms.IntegerField(required=False, min_value=0)
    preference = forms.CharField(required=False)


class DraftForm(DecisionForm):
    """The same fields, autosaved while the reviewer works; `panel` says which part was open."""

    verdict = forms.CharField(required=False)
    panel = forms.CharField(required=False)


class AdjudicationForm(forms.Form):
    verdict = forms.CharField()
    preference = forms.CharField(required=False)
    comment = forms.CharField(required=False)
    instruction = forms.CharField(required=False, strip=False)
    input = forms.CharField(required=False, strip=False)
    output = forms.CharField(required=False, strip=False)
    based_on = forms.IntegerField(required=False, min_value=0)
    revision = forms.IntegerField(required=False, min_value=0)  # 0: the original text


class ExportForm(forms.Form):
    """Parses the data lead's export settings; review.exports.settings checks what they mean together."""

    kind = forms.ChoiceField(choices=Export.Kind.choices, initial=Export.Kind.SFT)
    format = forms.ChoiceField(choices=format_choices, initial="jsonl")
    sft_style = forms.ChoiceField(
        label="SFT records",
        choices=list(SFT_STYLES.items()),
        initial="messages",
        required=False,
    )
    dpo_from_edits = forms.BooleanField(
        label="DPO: also pair each physician's edit with the original", required=False
    )
    domains = forms.ModelMultipleChoiceField(
        queryset=Domain.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    techniques = forms.MultipleChoiceField(
        choices=technique_choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    date_from = forms.DateField(
        label="Generated from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label="to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    min_agreement = forms.FloatField(
        label="Minimum domain agreement (alpha)", required=False, min_value=-1, max_value=1
    )
    include_released = forms.BooleanField(label="Include released batches (unreviewed)", required=False)
    validation_share = forms.FloatField(
        label="Validation share", initial=0.0, min_value=0, max_value=0.9, required=False
    )
    seed = forms.IntegerField(label="Split seed", initial=42, required=False)
    stable_pseudonyms = forms.BooleanField(
        label="Stable reviewer pseudonyms (the same in every export; by default each export has its own)",
        required=False,
    )

    def export_settings(self) -> dict:
        """The settings as review.exports.build.request_export takes them; blanks take the defaults."""
        data = {key: value for key, value in self.cleaned_data.items() if value not in (None, "")}
        data["domains"] = [domain.slug for domain in self.cleaned_data["domains"]]
        return data


class MyReviewsFilterForm(forms.Form):
    """My reviews' filters; a bad value is named on the page and that filter left off."""

    date_from = forms.DateField(
        label="Decided from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(label="to", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    verdict = forms.ChoiceField(choices=[("", "Any verdict"), *Verdict.choices], required=False)
    domain = forms.ModelChoiceField(
        queryset=Domain.objects.all(), to_field_name="slug", required=False, empty_label="Any domain"
    )
    technique = forms.ChoiceField(
        choices=lambda: [("", "Any technique"), *technique_choices()], required=False
    )
    flagged = forms.ChoiceField(
        choices=[
            ("", "Flagged or not"),
            ("gate", "Flagged by the quality gate"),
            ("discussed", "Asked the senior physicians about"),
        ],
        required=False,
    )

    def filters(self) -> dict:
        """The valid filters (a field with an error is left off)."""
        data = {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
        if "domain" in data:
            data["domain"] = data["domain"].slug
        return data


class RevisionForm(forms.Form):
    """Parses a revised decision's fields; review.queue.revise_decision says what is valid."""

    verdict = forms.CharField(required=False)
    reasons = forms.MultipleChoiceField(
        choices=RejectReason.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(required=False, strip=True)
    instruction = forms.CharField(required=False, strip=False)
    input = forms.CharField(required=False, strip=False)
    output = forms.CharField(required=False, strip=False)
    preference = forms.CharField(required=False)


class SkipForm(forms.Form):
    skip_reason = forms.CharField(required=False)


class QuestionForm(forms.Form):
    question = forms.CharField(required=False, strip=True)


class AnswerForm(forms.Form):
    answer = forms.CharField(required=False, strip=True)
