from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "Review"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.roles import ensure_roles
        from review import receivers  # noqa: F401  (connects sampling to finished runs)
        from review.corpus import register as register_revisions_for_dedup
        from review.tasks import register as register_tasks

        # Review is the last of the apps to migrate, so every permission a role needs exists by then.
        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="ensure_roles")
        register_revisions_for_dedup()
        register_tasks()  # the export services queue these tasks without importing them
