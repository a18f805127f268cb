"""Create the product's roles as groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Frozen copy of synth.roles.ROLE_PERMISSIONS as it was when this migration was written.
ROLE_PERMISSIONS = {
    "Physician": ["review.review_item"],
    "Senior physician": ["review.review_item", "review.adjudicate_item"],
    "Data lead": ["review.view_dashboard", "review.export_data"],
    "Administrator": [
        "synth.launch_run",
        *(
            f"synth.{action}_{model}"
            for model in ("domain", "seedtask", "teacher")
            for action in ("add", "change", "delete", "view")
        ),
        *(f"synth.view_{model}" for model in ("generationrun", "candidate", "qualityresult")),
        "review.view_dashboard",
        "review.export_data",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, permissions in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        for dotted in permissions:
            app_label, codename = dotted.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0001_initial"),
        ("synth", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
