"""The incident taxonomy, loaded from `config/incident_types.toml`.

The incident model validates types through this loader, so the TOML file is the single source of
truth for names, default priorities and the keywords the classifier uses as evidence.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
DEFAULT_TAXONOMY_PATH = CONFIG_DIR / "incident_types.toml"
PRIORITIES = ("P1", "P2", "P3", "P4")


class TaxonomyError(ValueError):
    """The taxonomy file is missing a field or holds an invalid value."""


@dataclass(frozen=True)
class IncidentType:
    """One incident type with its default priority, labels and keyword evidence."""

    name: str
    default_priority: str
    label_en: str
    label_ur: str
    keywords_en: tuple[str, ...] = field(default_factory=tuple)
    keywords_ur: tuple[str, ...] = field(default_factory=tuple)
    keywords_roman: tuple[str, ...] = field(default_factory=tuple)

    @property
    def all_keywords(self) -> tuple[str, ...]:
        return self.keywords_en + self.keywords_ur + self.keywords_roman


def _parse_type(name: str, raw: object, path: Path) -> IncidentType:
    if not isinstance(raw, dict):
        raise TaxonomyError(f"{path}: [{name}] must be a table")
    priority = raw.get("default_priority")
    if priority not in PRIORITIES:
        raise TaxonomyError(f"{path}: [{name}] default_priority must be one of {PRIORITIES}")
    for label in ("label_en", "label_ur"):
        if not isinstance(raw.get(label), str) or not raw[label].strip():
            raise TaxonomyError(f"{path}: [{name}] needs a non-empty {label}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("keywords_en", "keywords_ur", "keywords_roman"):
        words = raw.get(key, [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise TaxonomyError(f"{path}: [{name}] {key} must be a list of non-empty strings")
        lists[key] = tuple(dict.fromkeys(words))  # de-duplicate, keep order
    return IncidentType(
        name=name,
        default_priority=priority,
        label_en=raw["label_en"],
        label_ur=raw["label_ur"],
        **lists,
    )


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> dict[str, IncidentType]:
    if not path.exists():
        raise TaxonomyError(f"taxonomy file not found: {path}")
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    if not data:
        raise TaxonomyError(f"{path}: no incident types defined")
    return {name: _parse_type(name, raw, path) for name, raw in data.items()}


def load_taxonomy(path: Path | None = None) -> dict[str, IncidentType]:
    """Incident types by name, in file order; cached per path (the file is read once)."""
    resolved = (path or DEFAULT_TAXONOMY_PATH).resolve()
    return dict(_load_cached(resolved))
