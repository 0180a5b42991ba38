"""Constructed data with known answers for statistics and exchange tests (issue #8): the builders live in
beacon/synthetic.py (the demo's history uses them too)."""

from beacon.synthetic import add_place, add_suspect, add_victim, make_case, make_person

__all__ = ["add_place", "add_suspect", "add_victim", "make_case", "make_person"]
