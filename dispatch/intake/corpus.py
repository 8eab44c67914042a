"""The project's own triage training text, shipped inside the package, and its augmentation.

`data/corpus/<incident_type>.txt` holds utterances written for Helpline 15 (English, Urdu script,
Roman Urdu and mixes; implied incidents, third-person reports, negation). They live in the
package, not under `tests/`, so an installed wheel, the Docker image and the tests train the same
model. Augmentation adds what every real call carries and no label depends on: greetings and
pleas around the words, Roman-Urdu spelling variants and recogniser-style slips. It is seeded, so
the same files always give the same training set (and the same model id).
"""

from __future__ import annotations

import hashlib
import random
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"
SEED = 15


@dataclass(frozen=True)
class Example:
    text: str
    incident_type: str
    group: int = -1  # the written sentence an augmented copy came from (for grouped CV)


class CorpusMissingError(FileNotFoundError):
    """The packaged training text is absent: the install is broken, triage must not pretend."""


def corpus_files(directory: Path = CORPUS_DIR) -> list[Path]:
    return sorted(directory.glob("*.txt"))


def load_corpus(directory: Path = CORPUS_DIR) -> list[Example]:
    """One example per non-comment line; the file name is the incident type."""
    files = corpus_files(directory)
    if not files:
        raise CorpusMissingError(f"no triage corpus files (*.txt) in {directory}")
    examples: list[Example] = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                examples.append(Example(line, path.stem, len(examples)))
    return examples


def corpus_digest(directory: Path = CORPUS_DIR) -> str:
    """Short hash of the corpus files: names the model, so two installs can be compared."""
    digest = hashlib.sha256()
    for path in corpus_files(directory):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


OPENERS = (
    "hello", "hello hello", "hello sir", "hello hello sir", "hello ji", "haan ji", "ji sir",
    "assalam o alaikum", "salam sir", "sir", "sir please", "please help", "hello 15",
    "hello police", "yes hello", "hi", "sir ji suno", "ہیلو", "ہیلو سر", "السلام علیکم",
    "جی سر", "hello can you hear me", "sir meri baat sunen", "umm", "han hello",
)
CLOSERS = (
    "please come quickly", "jaldi aayen", "jaldi bhejain", "please send someone",
    "please help", "sir jaldi", "hurry please", "جلدی آئیں", "مہربانی کریں", "please sir",
    "we are waiting", "hum intezar kar rahe hain",
)
# Spelling variants heard from callers and recognisers, applied both ways.
ROMAN_VARIANTS = (
    ("hai", "he"), ("hai", "hay"), ("nahi", "nai"), ("nahi", "nahin"), ("gaya", "gya"),
    ("gayi", "gai"), ("raha", "rha"), ("rahi", "rhi"), ("hua", "hoa"), ("aag", "ag"),
    ("jaldi", "jldi"), ("bhai", "bhae"), ("mein", "main"), ("kar", "kr"),
    ("ghar", "gher"), ("diya", "dia"), ("liya", "lia"), ("kuch", "kch"), ("aadmi", "admi"),
    ("zakhmi", "zakhmee"), ("goli", "golee"), ("larka", "larka"), ("larai", "laraai"),
    ("bacha", "bachcha"), ("chori", "chorri"), ("hain", "hen"), ("ho", "hou"),
)
_WORD = re.compile(r"[a-z]+")


def _recogniser_slip(text: str, rng: random.Random) -> str:
    """One slip a recogniser makes on a Latin word: a dropped or doubled letter."""
    words = text.split(" ")
    latin = [i for i, w in enumerate(words) if len(w) >= 5 and w.isascii() and w.isalpha()]
    if not latin:
        return text
    i = rng.choice(latin)
    word = words[i]
    k = rng.randrange(1, len(word) - 1)
    words[i] = word[:k] + word[k + 1:] if rng.random() < 0.6 else word[:k] + word[k] + word[k:]
    return " ".join(words)


def _roman_variant(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    for index, word in enumerate(words):
        for a, b in ROMAN_VARIANTS:
            if word == a and rng.random() < 0.5:
                words[index] = b
            elif word == b and rng.random() < 0.5:
                words[index] = a
    return " ".join(words)


LANDMARKS_PATH = Path(__file__).resolve().parents[2] / "config" / "landmarks.toml"
_ARABIC = re.compile(r"[\u0600-\u06FF]")
PLACE_FORMS = {
    "en": ("near {}", "at {}", "opposite {}", "in {}", "on {}"),
    "roman": ("{} ke paas", "{} mein", "{} par", "{} ke samne"),
    "ur": ("{} کے پاس", "{} میں", "{} پر"),
}


def _places() -> tuple[list[str], list[str]]:
    """Latin and Urdu names of the landmarks: places belong to no incident type, so copies
    that name them teach the model to ignore them."""
    if not LANDMARKS_PATH.is_file():
        return [], []
    data = tomllib.loads(LANDMARKS_PATH.read_text(encoding="utf-8"))
    rows = data.get("landmark", [])
    return ([r["name"] for r in rows if r.get("name")],
            [r["name_ur"] for r in rows if r.get("name_ur")])


def _with_place(text: str, rng: random.Random, latin: list[str], urdu: list[str]) -> str:
    if _ARABIC.search(text) and urdu:
        place = rng.choice(PLACE_FORMS["ur"]).format(rng.choice(urdu))
    elif latin:
        forms = PLACE_FORMS["roman"] if rng.random() < 0.5 else PLACE_FORMS["en"]
        place = rng.choice(forms).format(rng.choice(latin).lower())
    else:
        return text
    return f"{place} {text}" if rng.random() < 0.4 else f"{text} {place}"


def augment(examples: Iterable[Example], *, copies: int = 3,
            seed: int = SEED) -> list[Example]:
    """The originals plus `copies` varied copies of each: an opener before, a place, a plea
    after, a spelling variant or a recogniser slip. Labels never change."""
    rng = random.Random(seed)
    latin, urdu = _places()
    out: list[Example] = []
    for example in examples:
        out.append(example)
        base = example.text.lower()
        for _ in range(copies):
            text = base
            if rng.random() < 0.35:
                text = _with_place(text, rng, latin, urdu)
            if rng.random() < 0.7:
                text = f"{rng.choice(OPENERS)} {text}"
            if rng.random() < 0.35:
                text = f"{text} {rng.choice(CLOSERS)}"
            text = _roman_variant(text, rng)
            if rng.random() < 0.4:
                text = _recogniser_slip(text, rng)
            out.append(Example(text, example.incident_type, example.group))
    return out
