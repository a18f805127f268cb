"""Signals other apps listen to, so `synth` never needs to import them."""

from django.dispatch import Signal

# Sent inside the transaction that marks a run completed, with `run=`; review samples it.
run_completed = Signal()


# Sent by the launch form and the run page, with `run=` (None for a run not launched yet) and
# `sample_rate=` (the run's own share); review answers with the sampling rule that will apply, as
# synth.review_sample.describe_share does for a run's own share ({"policy": ..., "summary": ...}).
sampling_rule_requested = Signal()


# Sent by `seed_demo` (synth.demo_data.load_demo_data) inside its transaction, after synth's demo data
# is loaded; review answers with what it added of its own ({"guidelines": n}: reviewer guidelines).
demo_data_loaded = Signal()
