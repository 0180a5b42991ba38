"""The recommendation (issue #3): Palermo's three elements, with the child rule. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from screening.choices import Recommendation
from screening.instruments import ELEMENTS


@dataclass
class Evaluation:
    act: bool
    means: bool
    purpose: bool
    is_child: bool
    recommendation: str
    missing: list[str] = field(default_factory=list)


def evaluate(definition: dict, answers: dict[str, bool], age: int | None) -> Evaluation:
    """All three elements met -> victim; for a person under 18, act and purpose suffice (the means element is
    not required for a child); something met but not enough -> possible victim, listing what is missing;
    nothing met -> not trafficking."""
    met = {}
    for element in ELEMENTS:
        codes = {item["code"] for item in definition.get(element, [])}
        met[element] = any(answers.get(code) for code in codes)
    is_child = age is not None and age < 18
    required = ("act", "purpose") if is_child else ELEMENTS
    missing = [element for element in required if not met[element]]
    if not missing:
        recommendation = Recommendation.VICTIM
    elif any(met.values()):
        recommendation = Recommendation.POSSIBLE
    else:
        recommendation = Recommendation.NOT_TRAFFICKING
    return Evaluation(met["act"], met["means"], met["purpose"], is_child, recommendation, missing)
