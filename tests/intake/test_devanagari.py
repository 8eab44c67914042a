"""Transcripts in Devanagari (Hindi speech models) go through the same pipeline."""

from __future__ import annotations

import pytest

from dispatch.intake.devanagari import romanize_devanagari
from dispatch.intake.service import default_triage


@pytest.mark.parametrize(("hindi", "roman"), [
    ("घर में आग लगी है", "ghar men aag lagi hai"),
    ("कलमा चौक", "kalma chauk"),      # schwa deleted inside the word
    ("लड़की", "larki"),                 # nukta letter, schwa deletion
    ("समझ", "samajh"),
    ("शादमान", "shadman"),
    ("fire at बाज़ार", "fire at bazar"),  # Latin passes through
])
def test_romanization(hindi: str, roman: str) -> None:
    assert romanize_devanagari(hindi) == roman


@pytest.mark.parametrize(("text", "incident_type", "place"), [
    ("घर में आग लगी है", "fire", None),
    ("कलमा चौक पर एक्सीडेंट हो गया", "road_traffic_accident", "Kalma Chowk"),
    ("यहाँ फायरिंग हो रही है", "firing_shooting", None),
    ("मेरा बेटा लापता है", "kidnapping_missing_person", None),
    ("डाटा दरबार के पास लड़ाई हो रही है", "assault_fight", "Data Darbar"),
    ("मॉडल टाउन में चोरी हो गई", "burglary", "Model Town"),
])
def test_hindi_transcripts(text: str, incident_type: str, place: str | None) -> None:
    result = default_triage()(text)
    assert result.language == "hi"
    assert result.incident_type == incident_type
    assert (result.location.text if result.location else None) == place
