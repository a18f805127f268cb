"""`manage.py generate --technique ... --teacher NAME --count N`: run a generation run to the end here."""

from django.core.management.base import BaseCommand, CommandError

from synth.generation import (
    GenerationError,
    ensure_offline_teacher,
    execute_batch_run,
    execute_run,
    launch_run,
    run_summary,
)
from synth.models import Domain, GenerationRun, QuerySet, SeedTask, Teacher
from synth.techniques import TECHNIQUES


class Command(BaseCommand):
    help = "Run a generation run in this process and print its summary; exits non-zero if it fails."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--technique", required=True, choices=list(TECHNIQUES))
        parser.add_argument("--teacher", default="offline", help="A teacher's name (see `teacher list`).")
        parser.add_argument("--count", type=int, required=True, help="Candidates to generate.")
        parser.add_argument(
            "--seed-task", action="append", default=[], help="Add a seed task (instruction) before the run."
        )
        parser.add_argument(
            "--domain", action="append", default=[], help="A domain's slug or name (repeatable)."
        )
        parser.add_argument("--sample", type=float, default=0.0, help="Share sent to review, 0 to 1.")
        parser.add_argument("--query-set", help="Distillation: the query set's name.")
        parser.add_argument(
            "--option", action="append", default=[], help="A technique option as key=value (e.g. rounds=3)."
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Use the provider's batch API (OpenAI, Anthropic): half the price; waits for the "
            "results, up to a day per batch.",
        )

    def handle(self, *args, **options) -> None:
        ensure_offline_teacher()
        teacher = Teacher.objects.filter(name=options["teacher"]).first()
        if teacher is None:
            raise CommandError(f"No teacher named '{options['teacher']}'. See `manage.py teacher list`.")
        domains = []
        for name in options["domain"]:
            domain = (
                Domain.objects.filter(slug=name).first() or Domain.objects.filter(name__iexact=name).first()
            )
            if domain is None:
                raise CommandError(
                    f"No domain '{name}'. Known: {', '.join(Domain.objects.values_list('slug', flat=True))}."
                )
            domains.append(domain)
        run_options = {}
        for pair in options["option"]:
            key, _, value = pair.partition("=")
            run_options[key] = _number(value)
        if options["query_set"]:
            query_set = QuerySet.objects.filter(name=options["query_set"]).first()
            if query_set is None:
                raise CommandError(f"No query set named '{options['query_set']}'.")
            run_options["query_set"] = query_set.pk
        if options["seed_task"]:
            if len(domains) != 1:
                raise CommandError("Give exactly one --domain for the seed tasks you add.")
            for instruction in options["seed_task"]:
                SeedTask.objects.get_or_create(
                    domain=domains[0], instruction=instruction, defaults={"output": ""}
                )
        try:
            run = launch_run(
                teacher=teacher,
                technique=options["technique"],
                requested_count=options["count"],
                sample_rate=options["sample"],
                domains=domains,
                options=run_options,
                use_batch_api=options["batch"],
                enqueue=False,
            )
        except GenerationError as error:
            raise CommandError(str(error)) from error
        if options["batch"]:
            execute_batch_run(run.pk, report=self.stdout.write)
        else:
            execute_run(run.pk)
        run.refresh_from_db()
        self.stdout.write(run_summary(run))
        if run.status != GenerationRun.Status.COMPLETED:
            raise CommandError(f"Run {run.pk} {run.get_status_display().lower()}: {run.error}")


def _number(value: str):
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value
