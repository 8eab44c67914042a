"""Build train.jsonl and test.jsonl from templates.py and the gazetteer sources.

Run from the repository root: `.venv/bin/python tests/data/triage/build_examples.py`.
Deterministic (fixed seed). The last template of every (type, language) list goes to the test
split only; test examples also get speech-recognition-style spelling noise and place-name
misspellings, so the held-out figures measure generalisation, not memory.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))
from templates import TEMPLATES  # noqa: E402

CITY_AREAS = ("lahore", "islamabad", "rawalpindi")
FILLERS = {
    "en": ["", " please", " sir"],
    "roman": ["", " jaldi", " ji"],
    "ur": ["", " جلدی", " جی"],
    "mixed": ["", " please", " jaldi"],
}
SOUND_SWAPS = [("ch", "c"), ("kh", "k"), ("sh", "s"), ("aa", "a"), ("ee", "i"), ("oo", "u"),
               ("q", "k"), ("ph", "f"), ("z", "j"), ("w", "v"), ("gh", "g"), ("th", "t")]


def places() -> list[dict]:
    """Every named place with Latin names, an Urdu name and a point."""
    from pak_geodata import get_areas_by_city

    found = []
    with (REPO / "config" / "landmarks.toml").open("rb") as handle:
        for item in tomllib.load(handle)["landmark"]:
            found.append({"names": [item["name"], *[a for a in item["aliases"]
                                                  if not re.search(r"[\u0600-\u06FF]", a)]],
                          "ur": item["name_ur"], "lat": item["lat"], "lon": item["lon"]})
    for city in CITY_AREAS:
        for area in get_areas_by_city(city):
            if area.coordinates is None or not area.urdu_name:
                continue
            found.append({"names": [area.name, *area.aliases], "ur": area.urdu_name,
                          "lat": area.coordinates.lat, "lon": area.coordinates.lng})
    return found


def asr_noise(text: str, rng: random.Random) -> str:
    """Mimic recogniser spelling slips: a sound swap or a dropped letter in one word."""
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and "{" not in w]
    if not candidates:
        return text
    i = rng.choice(candidates)
    word = words[i]
    swaps = [(a, b) for a, b in SOUND_SWAPS if a in word]
    if swaps and rng.random() < 0.6:
        a, b = rng.choice(swaps)
        word = word.replace(a, b, 1)
    else:
        j = rng.randrange(1, len(word) - 1)
        word = word[:j] + word[j + 1:]
    words[i] = word
    return " ".join(words)


def misspell_place(name: str, rng: random.Random) -> str:
    swaps = [(a, b) for a, b in SOUND_SWAPS if a in name.lower()]
    if swaps:
        a, b = rng.choice(swaps)
        return re.sub(a, b, name, count=1, flags=re.IGNORECASE)
    j = rng.randrange(1, max(2, len(name) - 1))
    return name[:j] + name[j + 1:]


def build(rng: random.Random) -> tuple[list[dict], list[dict]]:
    taxonomy = tomllib.loads((REPO / "config" / "incident_types.toml").read_text("utf-8"))
    all_places = places()
    train, test = [], []
    for incident_type, by_language in TEMPLATES.items():
        priority = taxonomy[incident_type]["default_priority"]
        for language, templates in by_language.items():
            for index, template in enumerate(templates):
                held_out = index == len(templates) - 1
                for _ in range(4 if held_out else 5):
                    place = rng.choice(all_places)
                    if language == "ur":
                        place_text = place["ur"]
                    else:
                        place_text = rng.choice(place["names"])
                        if held_out and rng.random() < 0.3:
                            place_text = misspell_place(place_text, rng)
                    has_place = "{place}" in template
                    text = template.format(place=place_text) + rng.choice(FILLERS[language])
                    if held_out and language != "ur" and rng.random() < 0.4:
                        text = asr_noise(text, rng)
                    row = {"text": text, "incident_type": incident_type, "priority": priority,
                           "language": language,
                           "location_text": place_text if has_place else None,
                           "lat": place["lat"] if has_place else None,
                           "lon": place["lon"] if has_place else None}
                    (test if held_out else train).append(row)
    return train, test


def main() -> None:
    train, test = build(random.Random(15))
    for name, rows in (("train", train), ("test", test)):
        unique = list({row["text"]: row for row in rows}.values())
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
            for row in unique:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(name, len(unique))


if __name__ == "__main__":
    main()
