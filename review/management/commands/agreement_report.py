"""`manage.py agreement_report`: reviewer agreement from database counts, as text or JSON."""

import json

from django.core.management.base import BaseCommand, CommandError

from review.agreement_report import agreement_report
from synth.models import Domain


def _f(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = "Reviewer agreement overall, per domain, technique, week, reviewer pair and reviewer."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
        parser.add_argument("--domain", action="append", default=[], help="Domain slug (repeatable).")

    def handle(self, *args, domain: list[str], **options) -> None:
        unknown = sorted(
            set(domain) - set(Domain.objects.filter(slug__in=domain).values_list("slug", flat=True))
        )
        if unknown:
            known = ", ".join(Domain.objects.values_list("slug", flat=True))
            raise CommandError(f"Unknown domain(s): {', '.join(unknown)}. Known domains: {known}.")
        report = agreement_report(domains=domain or None)
        if options["json"]:
            self.stdout.write(_dumps(report))
            return
        overall = report["overall"]
        ci = overall["alpha_ci"] or [None, None]
        lines = [
            report["definition"],
            f"Overall: alpha {_f(overall['alpha'])} (95% CI {_f(ci[0])} to {_f(ci[1])}), "
            f"percent agreement {_f(overall['percent_agreement'])}, {overall['items']} items",
        ]
        for title, key in (("Domain", "by_domain"), ("Technique", "by_technique")):
            lines.append(f"\n{title:<28} {'items':>7} {'alpha':>7} {'95% CI':>17}")
            for name, row in report[key].items():
                low, high = row["alpha_ci"] or [None, None]
                lines.append(f"{name:<28} {row['items']:>7} {_f(row['alpha']):>7} {_f(low):>8}-{_f(high):<8}")
        prefs = report["preferences"]
        lines.append(
            f"\nPreference pairs: alpha {_f(prefs['alpha'])}, percent agreement "
            f"{_f(prefs['percent_agreement'])}, {prefs['items']} items ({prefs['definition']})"
        )
        texts = report["texts_differ"]
        lines.append(
            f"\nApproved texts differ: {texts['differ']} of {texts['items']} items two or more reviewers "
            f"approved (share {_f(texts['share'])})"
        )
        lines.append(f"\n{'Week of':<28} {'items':>7} {'alpha':>7}")
        lines += [f"{p['week']:<28} {p['items']:>7} {_f(p['alpha']):>7}" for p in report["over_time"]]
        lines.append(f"\n{'Reviewer pair':<40} {'items':>7} {'kappa':>7} {'agree':>7}")
        for p in report["pairs"]:
            name = f"{p['reviewer_a']} + {p['reviewer_b']}"
            lines.append(f"{name:<40} {p['items']:>7} {_f(p['kappa']):>7} {_f(p['percent_agreement']):>7}")
        lines.append(
            f"\n{'Reviewer':<20} {'items':>6} {'accept':>7} {'edit':>6} {'reject':>7} {'median s':>9} {'vs adjudication':>16}"
        )
        for r in report["reviewers"]:
            median = "n/a" if r["median_seconds"] is None else f"{r['median_seconds']:.0f}"
            lines.append(
                f"{r['reviewer']:<20} {r['items']:>6} {_f(r['accept_rate']):>7} {_f(r['edit_rate']):>6} "
                f"{_f(r['reject_rate']):>7} {median:>9} {_f(r['agreement_with_adjudication']):>16}"
            )
        self.stdout.write("\n".join(lines))


def _dumps(report: dict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False)
