"""`manage.py teacher add NAME --provider ... --model ...` and `manage.py teacher list`."""

from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from synth.generation import ensure_offline_teacher
from synth.models import Teacher
from synth.plugins import PROVIDERS
from synth.teachers.setup import TeacherSetupError, add_teacher


class Command(BaseCommand):
    help = "Add a teacher, or list the teachers (the key itself is never stored: name its variable)."

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        add = actions.add_parser("add", help="Add a teacher.")
        add.add_argument("name")
        add.add_argument("--provider", required=True, choices=list(PROVIDERS))
        add.add_argument("--model", default="")
        add.add_argument("--base-url", default="", help="For OpenAI-compatible servers (vLLM, Ollama).")
        add.add_argument("--api-key-env", default="", help="Name of the variable holding the key.")
        add.add_argument("--concurrency", type=int)
        add.add_argument("--rpm", type=int, help="Requests per minute the provider allows.")
        add.add_argument("--tpm", type=int, help="Tokens per minute the provider allows.")
        add.add_argument("--temperature", type=float)
        add.add_argument("--max-tokens", type=int)
        add.add_argument("--timeout", type=float, help="Seconds per call.")
        add.add_argument("--price-input", type=Decimal, help="USD per million input tokens.")
        add.add_argument("--price-output", type=Decimal, help="USD per million output tokens.")
        actions.add_parser("list", help="List the teachers.")

    def handle(self, *args, action: str, **options) -> None:
        ensure_offline_teacher()
        if action == "list":
            for teacher in Teacher.objects.all():
                limits = f"rpm={teacher.requests_per_minute or '-'} tpm={teacher.tokens_per_minute or '-'}"
                self.stdout.write(
                    f"{teacher.name}\t{teacher.provider}\t{teacher.model or '-'}\t{teacher.base_url or '-'}\t"
                    f"key={teacher.api_key_env or '-'}\tconcurrency={teacher.concurrency}\t{limits}"
                )
            return
        try:
            teacher = add_teacher(
                name=options["name"],
                provider=options["provider"],
                model=options["model"],
                base_url=options["base_url"],
                api_key_env=options["api_key_env"],
                concurrency=options["concurrency"],
                requests_per_minute=options["rpm"],
                tokens_per_minute=options["tpm"],
                temperature=options["temperature"],
                max_tokens=options["max_tokens"],
                timeout_seconds=options["timeout"],
                price_input_per_mtok=options["price_input"],
                price_output_per_mtok=options["price_output"],
            )
        except TeacherSetupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Added teacher '{teacher.name}' ({teacher.provider}).")
