"""The demo's domains, seed tasks, facts, query set, documents, teacher and users; `seed_demo` loads
them idempotently (review adds its reviewer guidelines when told: `demo_data_loaded`), and with
`--runs` one small run per technique, generated here with the offline teacher and sampled in full.

Everything here is chosen so each technique can be launched on a fresh demo with the offline teacher
and put records in front of physicians: the sample query set asks only what the offline teacher's
knowledge base answers (ICD-10-CM codes, blocks, chapters, the facts table), and the documents are
de-identified and pass the PHI screen.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from core import roles
from synth.generation import execute_run, launch_run
from synth.models import (
    Domain,
    GenerationRun,
    KnowledgeFact,
    Query,
    QuerySet,
    SeedTask,
    SourceDocument,
    Teacher,
)
from synth.signals import demo_data_loaded
from synth.techniques import TECHNIQUES
from synth.techniques.documents import add_document

DOMAINS = [
    # name, slug, ICD-10-CM chapter, high risk
    ("Cardiology", "cardiology", "9", False),
    ("Endocrinology", "endocrinology", "4", False),
    ("Infectious disease", "infectious-disease", "1", False),
    ("Respiratory medicine", "respiratory", "10", False),
    ("Neonatology", "neonatology", "16", True),
]

SEED_TASKS = {
    "cardiology": [
        (
            "List the ECG criteria for ST-elevation myocardial infarction in leads V2–V3 for a man over 40.",
            "",
            "New ST elevation at the J point of at least 2 mm (0.2 mV) in V2–V3, in two contiguous leads, "
            "without left bundle branch block or left ventricular hypertrophy.",
        ),
        (
            "Name the components of the CHA2DS2-VASc score.",
            "",
            "Congestive heart failure (1), hypertension (1), age 75 or over (2), diabetes (1), prior stroke, TIA "
            "or thromboembolism (2), vascular disease (1), age 65–74 (1), female sex (1).",
        ),
        ("Which ICD-10-CM category codes essential (primary) hypertension?", "", "I10."),
        (
            "Which ICD-10-CM category covers atrial fibrillation and flutter?",
            "",
            "I48 (Atrial fibrillation and flutter), in the block Other forms of heart disease (I30-I5A).",
        ),
        (
            "Which categories make up the ICD-10-CM block I20-I25?",
            "",
            "The block Ischemic heart diseases (I20-I25): I20 angina pectoris, I21 acute myocardial infarction, "
            "I22 subsequent STEMI and NSTEMI myocardial infarction, I23 certain current complications following "
            "STEMI and NSTEMI myocardial infarction, I24 other acute ischemic heart diseases and I25 chronic "
            "ischemic heart disease.",
        ),
    ],
    "endocrinology": [
        (
            "State the HbA1c threshold for diagnosing diabetes mellitus.",
            "",
            "An HbA1c of 6.5 % (48 mmol/mol) or higher, confirmed by repeat testing unless there are "
            "unequivocal symptoms of hyperglycaemia.",
        ),
        (
            "Summarize the first steps in managing suspected diabetic ketoacidosis.",
            "",
            "Confirm glucose, ketones and acidosis; start isotonic fluids; give fixed-rate intravenous insulin "
            "once potassium is known to be at least 3.3 mmol/L; replace potassium; look for the trigger.",
        ),
        (
            "Give the ICD-10-CM category for type 2 diabetes mellitus.",
            "",
            "E11 (Type 2 diabetes mellitus), in the block Diabetes mellitus (E08-E13).",
        ),
        (
            "What does ICD-10-CM chapter 4 cover?",
            "",
            "Endocrine, nutritional and metabolic diseases (E00-E89): disorders of the thyroid gland, diabetes "
            "mellitus, other disorders of glucose regulation, disorders of other endocrine glands, malnutrition, "
            "other nutritional deficiencies, obesity and metabolic disorders.",
        ),
    ],
    "infectious-disease": [
        (
            "Assign the ICD-10-CM category code for the diagnosis in the assessment below.",
            "Assessment: Streptococcal sepsis.",
            "A40.",
        ),
        (
            "Which findings make up the qSOFA score?",
            "",
            "Respiratory rate of 22/min or more, altered mentation, and systolic blood pressure of 100 mmHg or less.",
        ),
        (
            "Which blocks open ICD-10-CM chapter 1?",
            "",
            "Chapter 1, Certain infectious and parasitic diseases (A00-B99), opens with intestinal infectious "
            "diseases (A00-A09), tuberculosis (A15-A19), certain zoonotic bacterial diseases (A20-A28) and other "
            "bacterial diseases (A30-A49), which include sepsis.",
        ),
    ],
    "respiratory": [
        (
            "Explain the difference between asthma and COPD on spirometry.",
            "",
            "Both can show airflow obstruction; in asthma it is largely reversible after a bronchodilator, while "
            "COPD shows a post-bronchodilator FEV1/FVC below 0.70 that persists.",
        ),
        (
            "What is the ICD-10-CM category code for pneumonia, unspecified organism?",
            "",
            "J18 (Pneumonia, unspecified organism), in the block Influenza and pneumonia (J09-J18).",
        ),
        (
            "Which ICD-10-CM category codes asthma?",
            "",
            "J45 (Asthma), in the block Chronic lower respiratory diseases (J40-J4A).",
        ),
    ],
    "neonatology": [
        (
            "At what bilirubin level should phototherapy be considered for a healthy term newborn at 48 hours?",
            "",
            "Use the hour-specific nomogram of current guidelines (AAP 2022), which depends on gestational age "
            "and risk factors; a single fixed number is not safe to apply.",
        ),
        (
            "Which ICD-10-CM category codes neonatal jaundice from other and unspecified causes?",
            "",
            "P59, in the block Hemorrhagic and hematological disorders of newborn (P50-P61).",
        ),
    ],
}

# drug, kind, low, high, unit, condition, source
FACTS = [
    (
        "metformin",
        KnowledgeFact.Kind.MAX_DAILY_DOSE,
        None,
        2550,
        "mg",
        "",
        "Metformin hydrochloride tablets, US prescribing information: Dosage and Administration",
    ),
    (
        "metformin",
        KnowledgeFact.Kind.CONTRAINDICATION,
        None,
        None,
        "",
        "severe renal impairment (eGFR below 30 mL/min/1.73 m2)",
        "Metformin hydrochloride tablets, US prescribing information: Contraindications",
    ),
]

SAMPLE_QUERY_SET = "Demo: coding and dosing questions"
# query, input, domain slug
SAMPLE_QUERIES = [
    ("What is the ICD-10-CM category code for heart failure?", "", "cardiology"),
    ("Which ICD-10-CM category codes type 1 diabetes mellitus?", "", "endocrinology"),
    ("Which categories make up the ICD-10-CM block J40-J4A?", "", "respiratory"),
    ("What does ICD-10-CM chapter 16 cover?", "", "neonatology"),
    ("In which ICD-10-CM block is other chronic obstructive pulmonary disease?", "", "respiratory"),
    ("What is the maximum daily dose of metformin?", "", "endocrinology"),
    ("In which condition is metformin contraindicated?", "", "endocrinology"),
    ("Which ICD-10-CM category is used for other sepsis?", "", "infectious-disease"),
]

# title, domain slug, text: de-identified teaching texts (no names, dates, places or numbers that
# identify anyone), for Backtranslation.
DOCUMENTS = [
    (
        "Heart failure: discharge teaching",
        "cardiology",
        "Heart failure (I50) is coded by type and acuity when the record documents them. At discharge, "
        "patients with heart failure are taught to weigh themselves each morning, to report a gain of "
        "more than 2 kg in three days, to limit salt, and to take their diuretic and other medicines as "
        "prescribed. A follow-up visit within one to two weeks lowers the risk of readmission.",
    ),
    (
        "Asthma: the written action plan",
        "respiratory",
        "Asthma (J45) is coded by severity and by whether it is controlled. A written asthma action plan "
        "tells the patient which daily controller medicine to take, how to recognise worsening "
        "symptoms, when to use the reliever inhaler, and when to seek urgent care. Inhaler technique is "
        "checked at every visit, because poor technique is a common reason for poor control.",
    ),
    (
        "Neonatal jaundice: monitoring",
        "neonatology",
        "Neonatal jaundice from other and unspecified causes (P59) is common in the first week of life. "
        "Bilirubin is measured and plotted on an hour-specific nomogram that accounts for gestational age "
        "and risk factors, and phototherapy is started when the level crosses the treatment threshold. "
        "Parents are told to watch for poor feeding, unusual sleepiness and yellowing that spreads to the "
        "legs.",
    ),
]

OFFLINE_TEACHER = "offline"

DEMO_USERS = [
    # username, password, role, staff, superuser
    ("admin", "admin-demo-pass", roles.ADMINISTRATOR, True, True),
    ("physician", "physician-demo-pass", roles.PHYSICIAN, False, False),
    ("physician2", "physician2-demo-pass", roles.PHYSICIAN, False, False),
    ("senior", "senior-demo-pass", roles.SENIOR_PHYSICIAN, False, False),
    ("datalead", "datalead-demo-pass", roles.DATA_LEAD, False, False),
]


def ensure_offline_teacher() -> Teacher:
    teacher, _ = Teacher.objects.get_or_create(
        name=OFFLINE_TEACHER, defaults={"provider": Teacher.Provider.OFFLINE, "model": "offline-icd10-v1"}
    )
    return teacher


@transaction.atomic
def load_demo_data(*, with_users: bool = True) -> dict[str, int]:
    """Create what is missing; never duplicate, never overwrite what an administrator changed."""
    created = {
        "domains": 0,
        "seed_tasks": 0,
        "users": 0,
        "facts": 0,
        "query_sets": 0,
        "documents": 0,
        "guidelines": 0,
    }
    for name, slug, chapter, high_risk in DOMAINS:
        domain, made = Domain.objects.get_or_create(
            slug=slug, defaults={"name": name, "icd10_chapter": chapter, "high_risk": high_risk}
        )
        created["domains"] += made
        for instruction, task_input, output in SEED_TASKS[slug]:
            _, made = SeedTask.objects.get_or_create(
                domain=domain, instruction=instruction, defaults={"input": task_input, "output": output}
            )
            created["seed_tasks"] += made
    for drug, kind, low, high, unit, condition, source in FACTS:
        _, made = KnowledgeFact.objects.get_or_create(
            drug=drug,
            kind=kind,
            condition=condition,
            defaults={"low": low, "high": high, "unit": unit, "source": source},
        )
        created["facts"] += made
    created["query_sets"] += _load_sample_query_set()
    domains = {d.slug: d for d in Domain.objects.all()}
    for title, slug, text in DOCUMENTS:
        if not SourceDocument.objects.filter(title=title).exists():
            add_document(title=title, text=text, domain=domains.get(slug))
            created["documents"] += 1
    ensure_offline_teacher()
    roles.ensure_roles()
    if with_users:
        User = get_user_model()
        for username, password, role, staff, superuser in DEMO_USERS:
            user, made = User.objects.get_or_create(
                username=username, defaults={"is_staff": staff, "is_superuser": superuser}
            )
            if made:
                user.set_password(password)
                user.save(update_fields=["password"])
                created["users"] += 1
            user.groups.add(Group.objects.get(name=role))
    for _receiver, added in demo_data_loaded.send(sender=None):
        for key, count in (added or {}).items():
            created[key] = created.get(key, 0) + count
    return created


DEMO_RUN_SIZE = 4  # candidates per technique: enough for a first look, quick to generate offline
DEMO_RUN_OPTION = "demo_run"  # marks the runs `seed_demo --runs` made (techniques ignore it)


def demo_run_options(technique: str) -> dict:
    """What a demo run of the technique needs beyond its defaults (Distillation: the sample set)."""
    options: dict = {DEMO_RUN_OPTION: True}
    if technique == "distillation":
        options["query_set"] = QuerySet.objects.get(name=SAMPLE_QUERY_SET).pk
    return options


def generate_demo_runs(*, report=lambda line: None) -> list[GenerationRun]:
    """One small run per technique, generated here with the offline teacher and sent to review in
    full, so a physician who logs in first has items; a technique that already has its demo run is
    left alone (running it again adds no runs). Call after `load_demo_data`."""
    teacher = ensure_offline_teacher()
    admin = get_user_model().objects.filter(username=DEMO_USERS[0][0]).first()
    made = []
    for name, technique in TECHNIQUES.items():
        if GenerationRun.objects.filter(technique=name, **{f"options__{DEMO_RUN_OPTION}": True}).exists():
            continue
        run = launch_run(
            teacher=teacher,
            technique=name,
            requested_count=DEMO_RUN_SIZE,
            sample_rate=1.0,
            options=demo_run_options(name),
            created_by=admin,
            enqueue=False,
        )
        execute_run(run.pk)
        run.refresh_from_db()
        report(
            f"  {technique.label}: run {run.pk} {run.get_status_display().lower()}, "
            f"{run.generated_count - run.filtered_count} of {run.generated_count} candidates passed"
        )
        made.append(run)
    return made


def _load_sample_query_set() -> int:
    """The sample query set, once (an administrator's later changes to it are kept)."""
    if QuerySet.objects.filter(name=SAMPLE_QUERY_SET).exists():
        return 0
    domains = {d.slug: d for d in Domain.objects.all()}
    query_set = QuerySet.objects.create(name=SAMPLE_QUERY_SET, source="seed_demo")
    Query.objects.bulk_create(
        Query(query_set=query_set, line=line, text=text, input=task_input, domain=domains.get(slug))
        for line, (text, task_input, slug) in enumerate(SAMPLE_QUERIES, start=1)
    )
    return 1
