"""How badly someone is hurt, as callers say it ("bohat zakhmi", "halat nazuk", "tarap raha
hai", "bleeding badly"), puts a life at risk (P1) whatever the type; negated, it does not.
Sentences are written here, not taken from the training corpus."""

from __future__ import annotations

import pytest

from dispatch.intake.safety import danger_cues, life_threats
from dispatch.intake.service import default_triage


@pytest.mark.parametrize("opening", [
    "Ferozepur Road pe accident hua hai, ek banda shadeed zakhmi hai",
    "motorcycle wala gira hai, sarak pe tarap raha hai",
    "abbu ki halat nazuk hai, jaldi ambulance bhejo",
    "uska khoon ruk nahi raha, haath pe shisha laga hai",
    "my neighbour fell off the ladder and is bleeding badly from his head",
    "the driver is barely conscious and the car is crushed",
    "حادثے میں دو لوگ شدید زخمی ہیں",
])
def test_how_badly_someone_is_hurt_makes_it_p1(opening: str) -> None:
    assert life_threats(opening), opening
    assert default_triage()(opening).priority == "P1"


@pytest.mark.parametrize("opening", [
    "chhota sa accident hua hai, koi bohat zakhmi nahi, bas gari ka bumper toota",
    "nobody is badly hurt, we just need the other driver's details",
])
def test_said_without_it_it_is_not(opening: str) -> None:
    assert not life_threats(opening)


def test_screams_heard_through_a_wall_are_never_dismissed() -> None:
    assert danger_cues("saath wale ghar se raat ko cheekhne ki awaaz aa rahi hai")
    assert default_triage()("saath wale ghar se cheekhne ki awaaz aa rahi hai").priority != "P4"
