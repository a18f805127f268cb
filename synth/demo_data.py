"""The demo's domains, seed tasks, teacher and users; `seed_demo` loads them idempotently."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from synth import roles
from synth.models import Domain, SeedTask, Teacher

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
    ],
    "respiratory": [
        (
            "Explain the difference between asthma and COPD on spirometry.",
            "",
            "Both can show airflow obstruction; in asthma it is largely reversible after a bronchodilator, while "
            "COPD shows a post-bronchodilator FEV1/FVC below 0.70 that persists.",
        ),
    ],
    "neonatology": [
        (
            "At what bilirubin level should phototherapy be considered for a healthy term newborn at 48 hours?",
            "",
            "Use the hour-specific nomogram of current guidelines (AAP 2022), which depends on gestational age "
            "and risk factors; a single fixed number is not safe to apply.",
        ),
    ],
}

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
    created = {"domains": 0, "seed_tasks": 0, "users": 0}
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
    return created
