"""Place-name gazetteer and location extraction from transcripts.

Built from three sources: the landmarks file (chowks, hospitals, police), pak-geodata's
neighbourhoods (with Urdu names and aliases) and any iterable of `(name, lat, lon, kind)` from
the loaded OSM map. Matching is fuzzy (rapidfuzz) on a spelling key that folds common Roman-Urdu
variants, plus a consonant skeleton so misheard names ("Caring Cross") snap to the right place.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rapidfuzz import fuzz, process

from dispatch.intake.schemas import LocationCandidate
from dispatch.intake.taxonomy import CONFIG_DIR
from dispatch.intake.text import ENGLISH_WORDS, ROMAN_URDU_WORDS, normalize, tokens

DEFAULT_LANDMARKS_PATH = CONFIG_DIR / "landmarks.toml"
DEFAULT_CITIES = ("lahore", "islamabad", "rawalpindi")
URDU_STOPWORDS = frozenset(
    ["کے", "کی", "کا", "پاس", "میں", "پر", "سے", "ہے", "ہیں", "سامنے", "والی", "والے", "والا",
     "قریب", "نزدیک", "اور"]
)
# Words that never start or end a place mention; "road" and "street" are part of names.
STOPWORDS = (
    ENGLISH_WORDS | ROMAN_URDU_WORDS | URDU_STOPWORDS | {"ke", "paas", "samne", "wali"}
) - {"road", "street", "house", "main"}
_FOLDS = [
    (r"\b(chowk|chok|chauk|chouk|chawk)\b", "chowk"),
    (r"\b(hospital|haspatal|aspatal|hospatal|haspital|aspataal|hosptal)\b", "hospital"),
    (r"\b(road|rd|roud|rod)\b", "road"),
    (r"\b(bazaar|bazar|baazar)\b", "bazar"),
    (r"\b(colony|kaloni|coloni)\b", "colony"),
    (r"\b(one)\b", "1"), (r"\b(two)\b", "2"), (r"\b(three)\b", "3"), (r"\b(four)\b", "4"),
    (r"\b(five)\b", "5"), (r"\b(six)\b", "6"), (r"\b(seven)\b", "7"), (r"\b(eight)\b", "8"),
    (r"\b(nine)\b", "9"), (r"\b(ten)\b", "10"),
    # Number words as recognisers and Roman-Urdu speakers spell them.
    (r"\b(thri|thre|tree|teen|theen)\b", "3"), (r"\b(tvo|tow|tu)\b", "2"),
    (r"\b(paanch|panch|faiv|fiv)\b", "5"), (r"\b(ek|aik|wan)\b", "1"),
]
_ROMAN_NUMERALS = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7",
                   "viii": "8", "ix": "9", "x": "10", "xi": "11", "xiv": "14"}
_CITY_WORDS = {"lahore": "lahore", "islamabad": "islamabad", "rawalpindi": "rawalpindi",
               "pindi": "rawalpindi", "لاہور": "lahore", "اسلام": "islamabad",
               "راولپنڈی": "rawalpindi", "پنڈی": "rawalpindi"}
_RELATIONS = {"near": "near", "paas": "near", "pas": "near", "qareeb": "near", "پاس": "near",
              "قریب": "near", "opposite": "opposite", "samne": "opposite", "saamne": "opposite",
              "سامنے": "opposite", "behind": "behind", "peeche": "behind", "پیچھے": "behind"}
_DETAIL_RE = re.compile(
    r"\b((?:block|blok)\s+[a-z0-9]{1,2}\b|(?:house|makan|plot)\s*(?:no\.?|number|#)?\s*\d+[a-z]?"
    r"|(?:street|gali|galli)\s*(?:no\.?|number|#)?\s*\d+|phase\s+\d+|sector\s+[a-z]-?\d+)"
    r"|((?:بلاک)\s+\S+|(?:گلی|مکان)\s+نمبر\s+\d+)",
    re.IGNORECASE,
)
MIN_SCORE = 84.0


def _min_score(length: int) -> float:
    """Short names must match almost exactly: 'Ichra' may snap to Ichhra, 'mal' to nothing."""
    if length < 5:
        return 95.0
    return 88.0 if length == 5 else MIN_SCORE


def spelling_key(text: str, *, numerals: bool = False) -> str:
    """Fold Roman-Urdu spelling variants so 'Kalma Chok' and 'kalma chowk' compare equal."""
    key = normalize(text)
    key = re.sub(r"[^\w\u0600-\u06FF]+", " ", key)
    key = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z]{2})", " ", key)  # 'i10' -> 'i 10'
    for pattern, repl in _FOLDS:
        key = re.sub(pattern, repl, key)
    if numerals:
        key = " ".join(_ROMAN_NUMERALS.get(w, w) for w in key.split())
    return re.sub(r"\s+", " ", key).strip()


def skeleton(key: str) -> str:
    """Consonant skeleton of a Latin key: survives vowel and aspiration slips of recognisers."""
    s = re.sub(r"(?<=[bcdgjkptsz])h+", "", key.replace(" ", ""))
    s = s.replace("q", "k").replace("c", "k").replace("w", "v").replace("ph", "f")
    s = s[:1] + re.sub(r"[aeiouy]", "", s[1:])
    return re.sub(r"(.)\1+", r"\1", s)


@dataclass(frozen=True)
class Place:
    """One named place; `names` are every spelling it is known by (Latin and Urdu script)."""

    name: str
    lat: float
    lon: float
    kind: str
    source: str
    city: str | None = None
    names: tuple[str, ...] = field(default_factory=tuple)


def _strip_edge_stopwords(words: list[str]) -> list[str]:
    while words and words[0] in STOPWORDS:
        words = words[1:]
    while words and words[-1] in STOPWORDS:
        words = words[:-1]
    return words


class Gazetteer:
    """Fuzzy place lookup; build once (a few ms per thousand names), then query per transcript."""

    def __init__(self, places: Iterable[Place], *, default_city: str | None = "lahore") -> None:
        self.places: list[Place] = list(places)
        self.default_city = default_city
        # Variant keys grouped by token count: a span is only compared with same-length names.
        self._keys: dict[int, list[str]] = {}
        self._skeletons: dict[int, list[str]] = {}
        self._owners: dict[int, list[int]] = {}
        seen: set[tuple[str, int]] = set()
        for index, place in enumerate(self.places):
            for name in (place.name, *place.names):
                words = _strip_edge_stopwords(spelling_key(name, numerals=True).split())
                key = " ".join(words)
                if len(key) < 3 or (key, index) in seen:
                    continue
                seen.add((key, index))
                n = len(words)
                self._keys.setdefault(n, []).append(key)
                self._skeletons.setdefault(n, []).append(skeleton(key))
                self._owners.setdefault(n, []).append(index)
        self.max_words = max(self._keys, default=1)

    def __len__(self) -> int:
        return len(self.places)

    @classmethod
    def build(
        cls,
        *,
        landmarks_path: Path | None = None,
        osm_names: Iterable[tuple[str, float, float, str]] = (),
        cities: Iterable[str] = DEFAULT_CITIES,
        default_city: str | None = "lahore",
    ) -> Gazetteer:
        """Gazetteer from the landmarks file, pak-geodata areas of `cities` and OSM names."""
        return cls(
            [*load_landmarks(landmarks_path), *pak_geodata_places(cities), *osm_places(osm_names)],
            default_city=default_city,
        )

    def find(self, text: str, *, limit: int = 5) -> list[LocationCandidate]:
        """Ranked places mentioned in `text`, best first, one per place and per text span."""
        words = spelling_key(text, numerals=True).split()
        raw_words = tokens(normalize(text))
        city_hint = next((_CITY_WORDS[w] for w in raw_words if w in _CITY_WORDS), None)
        found: list[tuple[float, int, int, int]] = []  # score, span words, start, place
        for n in range(1, self.max_words + 1):
            spans = [(i, " ".join(words[i : i + n])) for i in range(len(words) - n + 1)
                     if words[i] not in STOPWORDS and words[i + n - 1] not in STOPWORDS]
            if not spans:
                continue
            # Same-length names, and names one word longer ("Johar Town" ~ "Johar Town 1").
            for m, penalty in ((n, 0.0), (n + 1, 3.0)):
                if m in self._keys:
                    found.extend(self._match(spans, n, m, penalty))
        return self._select(found, words, city_hint, text, limit)

    def _match(self, spans: list[tuple[int, str]], n: int, m: int,
               penalty: float) -> list[tuple[float, int, int, int]]:
        """Fuzzy scores of n-word spans against m-word names, above the length threshold."""
        span_keys = [s for _, s in spans]
        keys, skeletons = self._keys[m], self._skeletons[m]
        scores = process.cdist(span_keys, keys, scorer=fuzz.ratio, score_cutoff=MIN_SCORE - 10)
        skel_scores = process.cdist([skeleton(s) for s in span_keys], skeletons,
                                    scorer=fuzz.ratio, score_cutoff=90)
        found = []
        for row, (start, span) in enumerate(spans):
            columns = set(scores[row].nonzero()[0].tolist())
            columns.update(skel_scores[row].nonzero()[0].tolist())
            for col in columns:
                key = keys[col]
                score = float(scores[row][col])
                if len(key) >= 6 and len(span) >= 6:
                    score = max(score, float(skel_scores[row][col]) - 4.0)
                if score - penalty < _min_score(min(len(key), len(span))):
                    continue
                found.append((score - penalty, n, start, self._owners[m][col]))
        return found

    def _select(self, found: list[tuple[float, int, int, int]], words: list[str],
                city_hint: str | None, text: str, limit: int) -> list[LocationCandidate]:
        def rank(item: tuple[float, int, int, int]) -> tuple[float, int]:
            score, n, _, place_index = item
            place = self.places[place_index]
            if place.city and place.city == (city_hint or self.default_city):
                score += 2.0 if city_hint else 0.5
            return score, n

        detail = _extract_detail(text)
        taken_spans: list[range] = []
        taken_places: set[int] = set()
        results: list[LocationCandidate] = []
        for item in sorted(found, key=rank, reverse=True):
            _, n, start, place_index = item
            span = range(start, start + n)
            if place_index in taken_places:
                continue
            if any(set(span) & set(other) for other in taken_spans):
                continue
            taken_spans.append(span)
            taken_places.add(place_index)
            place = self.places[place_index]
            relation = _relation(words, start, n)
            results.append(LocationCandidate(
                text=f"{place.name}, {detail}" if detail and not results else place.name,
                lat=place.lat, lon=place.lon,
                confidence=round(min(1.0, rank(item)[0] / 100.0), 3),
                source=place.source, matched=" ".join(words[start : start + n]),
                kind=place.kind, relation=relation,
            ))
            if len(results) >= limit:
                break
        return results

    def snap(self, name: str) -> LocationCandidate | None:
        """The best gazetteer place for a single (possibly misheard) name, or None."""
        matches = self.find(name, limit=1)
        return matches[0] if matches else None


def _relation(words: list[str], start: int, n: int) -> str | None:
    before = words[start - 1] if start > 0 else ""
    after = words[start + n : start + n + 2]
    for word in (before, *after):
        if word in _RELATIONS:
            return _RELATIONS[word]
    return None


def _extract_detail(text: str) -> str | None:
    """Block, house, street, phase or sector numbers the caller gave, e.g. 'block E, house 12'."""
    parts = [m.group(0).strip() for m in _DETAIL_RE.finditer(normalize(text))]
    parts = [re.sub(r"\bblock ([a-z])\b", lambda m: f"block {m.group(1).upper()}", p)
             for p in parts]
    return ", ".join(dict.fromkeys(parts)) or None


def load_landmarks(path: Path | None = None) -> list[Place]:
    """Places from `config/landmarks.toml`."""
    with (path or DEFAULT_LANDMARKS_PATH).open("rb") as handle:
        items = tomllib.load(handle).get("landmark", [])
    return [
        Place(name=item["name"], lat=float(item["lat"]), lon=float(item["lon"]),
              kind=item.get("kind", "landmark"), source="landmark", city=item.get("city"),
              names=(item.get("name_ur", ""), *item.get("aliases", [])))
        for item in items
    ]


def pak_geodata_places(cities: Iterable[str] = DEFAULT_CITIES) -> list[Place]:
    """Neighbourhoods with coordinates, Urdu names and aliases from the pak-geodata package."""
    from pak_geodata import get_areas_by_city

    places = []
    for city in cities:
        for area in get_areas_by_city(city):
            if area.coordinates is None:
                continue
            places.append(Place(
                name=area.name, lat=area.coordinates.lat, lon=area.coordinates.lng,
                kind=area.type or "area", source="pak-geodata", city=city,
                names=tuple(n for n in (area.urdu_name, *area.aliases) if n),
            ))
    return places


@cache
def place_words() -> frozenset[str]:
    """Words of the landmarks' and neighbourhoods' names (every spelling, normalised) that are
    not ordinary words: they say where, never what happened, so they are no evidence of an
    incident type ("gulberg mein hamare ghar" says little yet)."""
    places = [*load_landmarks(), *pak_geodata_places()]
    words = {w for p in places for name in (p.name, *p.names) for w in tokens(normalize(name))}
    return frozenset(words - STOPWORDS)


_GENERIC_STREET_RE = re.compile(
    r"^(street|st|gali|lane|road|service road|link road|main road|main boulevard|u turn|"
    r"avenue|block|sector)( no)?(\s*[\w-]{1,3}){0,3}$"
)
MAX_OSM_CLUSTERS = 5


def osm_places(names: Iterable[tuple[str, float, float, str]], *,
               link_km: float = 1.5) -> list[Place]:
    """Places from the loaded map: any iterable of `(name, lat, lon, kind)`.

    A street name comes once per OSM way, so it repeats. Points chained within `link_km` form
    clusters; a long road gives a few clusters and is kept as one place, at the member point
    nearest the middle of its largest cluster (a point on the road). Names that say nothing
    about where ("Street 4", "U Turn") or that scatter over the city in many clusters cannot
    place a caller and are left out rather than guessed.
    """
    import numpy as np
    from scipy.cluster.hierarchy import fcluster, linkage

    groups: dict[str, list[tuple[str, float, float, str]]] = {}
    for name, lat, lon, kind in names:
        if not name or not name.strip():
            continue
        key = spelling_key(name)
        if _GENERIC_STREET_RE.match(key):
            continue
        groups.setdefault(key, []).append((name.strip(), float(lat), float(lon), kind or "street"))
    places = []
    for members in groups.values():
        points = np.array([(m[1], m[2]) for m in members])
        chosen = np.arange(len(members))
        if len(members) > 1:
            km = points * np.array([111.2, 111.2 * np.cos(np.radians(points[:, 0].mean()))])
            clusters = fcluster(linkage(km, "single"), t=link_km, criterion="distance")
            labels, counts = np.unique(clusters, return_counts=True)
            if len(labels) > MAX_OSM_CLUSTERS:
                continue
            chosen = np.nonzero(clusters == labels[np.argmax(counts)])[0]
        middle = points[chosen].mean(axis=0)
        nearest = chosen[int(np.argmin(((points[chosen] - middle) ** 2).sum(axis=1)))]
        name, lat, lon, kind = members[nearest]
        places.append(Place(name=name, lat=lat, lon=lon, kind=kind, source="osm"))
    return places
