"""Fitted triage models kept between starts, named by a hash of what fitted them.

A restart then takes a fraction of a second instead of seconds (n-grams) or a minute (the
sentence embedding). An unreadable or unwritable cache only costs the refit.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

log = logging.getLogger(__name__)
CACHE_KEEP = 4  # fitted models of one kind kept in the cache folder, newest first
T = TypeVar("T")


def cache_dir() -> Path:
    """Where fitted models are kept between starts: `$XDG_CACHE_HOME/helpline15/triage`
    (`~/.cache/...`, beside the speech models); `H15_TRIAGE_CACHE_DIR` overrides."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(os.environ.get("H15_TRIAGE_CACHE_DIR") or Path(base) / "helpline15" / "triage")


def load_or_fit(name: str, fit: Callable[[], T], *, cache: bool,
                kind: type | None = None) -> T:
    """The object cached as `<name>.pkl`, or `fit()` (then cached). `name` ends in a hash of
    the training set, parameters and library versions; the part before its last `-` is the
    kind of model, of which only the newest `CACHE_KEEP` files are kept."""
    if not cache:
        return fit()
    path = cache_dir() / f"{name}.pkl"
    try:
        with path.open("rb") as handle:
            model = pickle.load(handle)  # our own cache file, named by its content's hash
        if kind is None or isinstance(model, kind):
            return model
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ValueError):
        pass
    model = fit()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(handle.name, path)
        family = name.rsplit("-", 1)[0]
        stale = sorted(path.parent.glob(f"{family}-*.pkl"), key=lambda f: f.stat().st_mtime)
        for old in stale[:-CACHE_KEEP]:  # models of earlier corpora
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.info("triage model cache not written (%s): fitting again next start", exc)
    return model
