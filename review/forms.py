from django import forms

from review.models import Export, RejectReason


class DecisionForm(forms.Form):
    """Parses a decision's fields; what makes a decision valid is checked by review.queue."""

    verdict = forms.CharField()
    reasons = forms.MultipleChoiceField(
        choices=RejectReason.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    comment = forms.CharField(required=False, strip=True)
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
    revision = forms.IntegerField(required=False, min_value=1)


class ExportForm(forms.Form):
    kind = forms.ChoiceField(choices=Export.Kind.choices, initial=Export.Kind.SFT)
    format = forms.ChoiceField(choices=Export.Format.choices, initial=Export.Format.JSONL)
