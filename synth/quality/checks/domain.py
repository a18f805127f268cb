"""The domain check: a candidate's clinical domains, stored for the coverage report (filters nothing).

A candidate's domains are the run's domain it was generated for, every admin domain whose
keywords it mentions (pediatrics and rare diseases cut across chapters, so they are found by
keywords), and the domain of the ICD-10-CM chapter of the codes it names. The first is primary.
"""

from __future__ import annotations

import re

from synth.knowledge import icd10
from synth.models import Candidate, Domain
from synth.quality.checks.base import Check
from synth.quality.verdict import Verdict
from synth.quality.verification import code_mentions


def _keywords(domain: Domain) -> list[re.Pattern[str]]:
    words = [w.strip() for w in domain.keywords.split(",") if w.strip()]
    return [re.compile(rf"\b{re.escape(w)}", re.IGNORECASE) for w in words]


def assign_domains(candidate: Candidate, domains: list[Domain] | None = None) -> dict[str, object]:
    domains = domains if domains is not None else list(Domain.objects.all())
    text = "\n".join((candidate.instruction, candidate.input, candidate.output))
    chosen: list[Domain] = []
    if candidate.domain_id:
        chosen += [d for d in domains if d.pk == candidate.domain_id]
    chosen += [d for d in domains if d not in chosen and any(p.search(text) for p in _keywords(d))]
    chapters = []
    for mention in code_mentions(text):
        if mention.get("valid"):
            chapter = icd10.chapter_of(str(mention["code"]))
            if chapter not in chapters:
                chapters.append(chapter)
    chosen += [d for d in domains if d not in chosen and d.icd10_chapter and d.icd10_chapter in chapters]
    return {
        "primary": chosen[0].slug if chosen else "",
        "domains": [d.slug for d in chosen],
        "chapters": [{"chapter": c, "title": icd10.chapter_title(c)} for c in chapters],
    }


class DomainCheck(Check):
    """Passes every candidate with its domains as evidence (the first is primary)."""

    name = "domain"
    order = 100

    def verdict(self, candidate: Candidate) -> Verdict:
        assignment = assign_domains(candidate)
        names = ", ".join(assignment["domains"]) or "none"  # type: ignore[arg-type]
        return Verdict(self.name, True, f"Domains: {names}"[:200], assignment)
