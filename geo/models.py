"""Administrative areas and the area each located record falls in (issue #7).

Other apps' models stay untouched: the area of a report, a case place or an agency is kept here, keyed by
(object type, id), written by the actions that set coordinates (``geo.assign.refresh_area``) and recomputed
by ``manage.py assign_areas`` (after ``load_areas``); the map counts by it in SQL (issue #11, ``geo.layers``).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AdministrativeArea(models.Model):
    name = models.CharField(_("name"), max_length=200)
    code = models.CharField(_("code (ISO 3166-2)"), max_length=10, unique=True)
    country = models.CharField(_("country (ISO 3166-1 alpha-2)"), max_length=2, db_index=True)
    # GeoJSON geometry (Polygon or MultiPolygon, lon/lat). The bounding box prefilters lookups.
    geometry = models.JSONField(_("boundary (GeoJSON)"))
    min_lon = models.FloatField(editable=False)
    min_lat = models.FloatField(editable=False)
    max_lon = models.FloatField(editable=False)
    max_lat = models.FloatField(editable=False)
    source = models.CharField(_("source"), max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("administrative area")
        verbose_name_plural = _("administrative areas")
        ordering = ["code"]
        indexes = [models.Index(fields=["min_lon", "max_lon", "min_lat", "max_lat"], name="geo_area_bbox")]

    def __str__(self) -> str:
        return self.name


class AreaAssignment(models.Model):
    """The area a located record lies in. ``object_type`` is "app_label.model"; ``area`` is None outside
    every area. The coordinates are those the assignment was computed from, so a moved pin is noticed."""

    object_type = models.CharField(max_length=60)
    object_id = models.PositiveBigIntegerField()
    area = models.ForeignKey(AdministrativeArea, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    latitude = models.FloatField()
    longitude = models.FloatField()
    assigned_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object_type", "object_id"], name="one_area_per_object")]
        indexes = [models.Index(fields=["area", "object_type"], name="geo_assignment_area")]
