"""Signals of the shared machinery that the apps listen to."""

from django.dispatch import Signal

# Sent by a task worker when it starts and when the database is back after an outage: each app resumes
# at once the work whose worker died (its lease ran out) and makes sure its active work is watched.
worker_ready = Signal()
