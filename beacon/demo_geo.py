"""Demo administrative areas (issue #7): Trinidad and Tobago's 15 municipal areas, if the shared file is there."""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)


def seed_geo() -> int:
    """Load ../shared/geo/tt_admin1.geojson and assign located records to areas; 0 when the file is missing."""
    from geo import loader
    from geo.assign import assign_all

    path = settings.BASE_DIR.parent / "shared/geo/tt_admin1.geojson"
    if not path.exists():
        logger.warning("Demo areas skipped: %s not found", path)
        return 0
    result = loader.load(loader.read(path), source="shared/geo/tt_admin1.geojson")
    assign_all()
    # Only what changed counts, so a second run reports nothing new.
    return result.created + result.updated
