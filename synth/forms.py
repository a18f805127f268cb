from django import forms

from synth.generation import MAX_RUN_SIZE, available_techniques
from synth.models import Domain, Teacher


class LaunchRunForm(forms.Form):
    teacher = forms.ModelChoiceField(queryset=Teacher.objects.all(), empty_label=None)
    technique = forms.ChoiceField(choices=available_techniques)
    domains = forms.ModelMultipleChoiceField(
        queryset=Domain.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to spread the run over every domain.",
    )
    requested_count = forms.IntegerField(
        label="Candidates to generate", min_value=1, max_value=MAX_RUN_SIZE, initial=20
    )
    sample_percent = forms.IntegerField(
        label="Share sent to physicians (%)",
        min_value=0,
        max_value=100,
        initial=50,
        help_text="Of the candidates that pass the quality gate. High-risk domains are always reviewed.",
    )
