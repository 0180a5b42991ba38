"""Demo administrative areas (issue #7): Trinidad and Tobago's 15 municipal areas."""

from __future__ import annotations


def seed_geo() -> int:
    """Load the demo areas (geo/data/tt_admin1.geojson) and assign located records to areas."""
    from geo import loader
    from geo.assign import assign_all

    result = loader.load(loader.read(loader.DEMO_GEOJSON), source="geo/data/tt_admin1.geojson")
    assign_all()
    # Only what changed counts, so a second run reports nothing new.
    return result.created + result.updated
