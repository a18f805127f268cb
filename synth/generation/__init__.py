"""Generation runs: launching one, executing its chunks, resuming after a lost worker, cancelling.

A run is split into chunks (`RunChunk`), each a background task that any worker may take, so several
workers generate one run at once:

- `launch`: launching a run (its chunks queued), estimating its cost, cancelling it;
- `chunks`: executing a chunk under a lease, with its steps driven concurrently, and retrying it;
- `transports`: how a chunk's calls reach their teachers, live or through provider batches;
- `records`: storing each teacher call as it completes and each step's candidates once it ends;
- `watchdog`: handing on the chunks of a worker that died.

Nothing is lost or paid twice when a worker dies: every answered call is recorded with a key naming
it within the run (chunk, step, slot), a resumed chunk re-runs only the steps it had not stored, and
a call whose key already has an answer is served from that record instead of the teacher. Candidate
sequences are unique per run, so no record is stored twice.
"""

from synth.generation.chunks import MAX_FRUITLESS_STEPS, execute_batch_run, execute_chunk, execute_run
from synth.generation.launch import (
    MAX_RUN_SIZE,
    CostEstimate,
    GenerationError,
    available_techniques,
    cancel_run,
    ensure_offline_teacher,
    estimate_cost,
    launch_run,
    run_summary,
)
from synth.generation.transports import retry_policy
from synth.generation.watchdog import (
    look_after_active_runs,
    next_watch_at,
    resume_stalled_runs,
    watch_active_run,
)

__all__ = [
    "MAX_FRUITLESS_STEPS",
    "MAX_RUN_SIZE",
    "CostEstimate",
    "GenerationError",
    "available_techniques",
    "cancel_run",
    "ensure_offline_teacher",
    "estimate_cost",
    "execute_batch_run",
    "execute_chunk",
    "execute_run",
    "launch_run",
    "look_after_active_runs",
    "next_watch_at",
    "resume_stalled_runs",
    "retry_policy",
    "run_summary",
    "watch_active_run",
]
