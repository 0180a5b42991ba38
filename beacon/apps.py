from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    # Infrastructure, like Django creating its own permissions after migrate: not business logic.
    from accounts.roles import sync_roles

    sync_roles()


class BeaconConfig(AppConfig):
    name = "beacon"
    verbose_name = "Beacon"

    def ready(self):
        post_migrate.connect(_sync_roles, sender=self, dispatch_uid="beacon_sync_roles")
