from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "care"
    verbose_name = _("Victim care")

    def ready(self):
        from care import panels  # noqa: F401  (registers the home-page panels)
