"""Signals other apps listen to, so `synth` never needs to import them."""

from django.dispatch import Signal

# Sent inside the transaction that marks a run completed, with `run=`; review samples it.
run_completed = Signal()
