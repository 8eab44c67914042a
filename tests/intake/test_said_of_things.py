"""Words said of people and of things: "utha ke le gaye" (took away) is a kidnapping when a
person is taken and a theft when a goat or a generator is; a cat stuck on a railing is not a
person trapped. Sentences are written here, not taken from the training corpus."""

from __future__ import annotations

import pytest

from dispatch.intake.safety import life_threats, strip_fillers
from dispatch.intake.service import default_triage


@pytest.fixture(scope="module")
def engine():
    return default_triage()


@pytest.mark.parametrize("theft", [
    "hamari do bakriyan raat ko koi utha ke le gaya haveli se",
    "chhat se hamara generator utha kar le gaye kal raat",
    "gali mein khari meri motorcycle koi utha ke le gaya",
    "ہماری بھینس رات کو کوئی اٹھا کر لے گیا",
])
def test_a_thing_or_an_animal_taken_away_is_a_theft_not_a_kidnapping(engine, theft: str) -> None:
    assert "chori" in strip_fillers(theft) or "چوری" in strip_fillers(theft)
    assert not life_threats(theft)
    result = engine(theft)
    assert result.incident_type == "burglary", result.candidates
    assert result.priority != "P1"


@pytest.mark.parametrize("kidnapping", [
    "do aadmi mere bhai ko utha ke le gaye",
    "mere bete ko kuch log gari mein utha kar le gaye",  # the car holds the person taken
    "meri beti ko school wagon se utha kar le gaye",     # a person marker before the vehicle
    "mere bete ki bike utha ke le gaye",                 # a person named: the costlier reading
    "میرے بیٹے کو اٹھا کر لے گئے",
])
def test_a_person_taken_away_stays_a_kidnapping(engine, kidnapping: str) -> None:
    assert "utha" in strip_fillers(kidnapping) or "اٹھا" in strip_fillers(kidnapping)
    result = engine(kidnapping)
    assert result.incident_type == "kidnapping_missing_person", result.candidates
    assert result.priority == "P1"


@pytest.mark.parametrize(("opening", "expected"), [
    ("hamari gari nahi mil rahi, parking mein khari ki thi", "burglary"),
    ("meri do bakriyan subah se gayab hain, bahar bandhi thi", "burglary"),
    ("my car is missing from the parking lot where i left it", "burglary"),
    ("mera beta subah se gayab hai, school se nahi aaya", "kidnapping_missing_person"),
])
def test_a_thing_that_is_missing_is_a_theft_a_person_missing_is_not(
        engine, opening: str, expected: str) -> None:
    assert engine(opening).incident_type == expected, engine(opening).candidates


def test_no_vehicle_to_be_had_is_not_a_stolen_vehicle() -> None:
    text = "bhabhi ki delivery shuru ho gayi hai, koi gari nahi mil rahi, khoon beh raha hai"
    assert "chori" not in strip_fillers(text)
    assert life_threats(text)


def test_an_animal_stuck_or_still_is_not_a_person_at_risk() -> None:
    assert not life_threats("hamari billi phans gayi hai railing mein")
    assert not life_threats("gali mein kutta hil nahi raha")
    assert life_threats("mera bhai phans gaya hai lift mein")
    assert life_threats("abbu hil nahi rahe")


def test_a_threat_to_blow_a_place_up_is_never_dismissed(engine) -> None:
    """Asked as a question ("how do we report it?"), a bomb threat once read as a request for
    information, P4."""
    result = engine("ایک خط ملا ہے کہ مسجد کو اڑا دیں گے، کیسے رپورٹ کریں؟")
    assert result.incident_type == "terrorism_bomb_threat", result.candidates
    assert result.priority == "P1"
    assert engine("a note says they will blow up the school, who do we tell").priority != "P4"
