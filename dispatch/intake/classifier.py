"""Incident-type classifier: keyword evidence combined with an n-gram linear model.

Keywords (from the taxonomy) catch the words call-takers know matter; the n-gram model, trained
on the project's own corpus (`data/corpus/`, shipped in the package) cope with spelling variants,
recognition slips, implied incidents and words nobody put in a list. Training and calibration
take a few seconds and happen once per process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import sklearn
from rapidfuzz import fuzz, process
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline

from dispatch.intake.corpus import (
    CORPUS_DIR,
    Example,
    augment,
    corpus_digest,
    corpus_files,
    load_corpus,
)
from dispatch.intake.gazetteer import place_words
from dispatch.intake.model_cache import load_or_fit
from dispatch.intake.safety import danger_cues, strip_fillers
from dispatch.intake.semantic import NAME as SEMANTIC_NAME
from dispatch.intake.semantic import Embedder, SemanticScorer, load_embedder
from dispatch.intake.taxonomy import IncidentType
from dispatch.intake.text import (
    _ARABIC_RE,
    ENGLISH_WORDS,
    FILLER_WORDS,
    ROMAN_URDU_WORDS,
    SOUND_CLASSES,
    normalize,
    sound_skeleton,
    tokens,
)

log = logging.getLogger(__name__)
DEFAULT_TRAIN_PATH = CORPUS_DIR
KEYWORDS_ONLY = "keywords-only"
PRANK = "prank_non_emergency"
# With a danger cue in the words: prank is ruled out, the other non-emergencies weigh less.
DANGER_DEMOTES = {PRANK: 0.0, "information_request": 0.5, "noise_nuisance": 0.5}
PRANK_WITHOUT_CUE = 0.3
PRANK_CAP_WITHOUT_CUE = 0.45  # below the service's UNCERTAIN_BELOW: an unsure answer at most
KEYWORD_WEIGHT = 0.45  # share of the final score that keyword evidence gets when it fires
FUZZY_KEYWORD_MIN = 86.0
URDU_WHOLE_WORD_BELOW = 4
NON_CONTENT_WORDS = FILLER_WORDS | ENGLISH_WORDS | ROMAN_URDU_WORDS
MIN_CONTENT_WORDS = 3  # below this (and with no keyword) confidence is scaled down
CALIBRATION_FOLDS = 4
# Temperature scaling of the blended scores. With the sentence embedding in the blend,
# grouped held-out folds of the corpus choose ~0.5 (`bench triage`: `fitted_temperature`), but
# the corpus is easier than real callers: on real texts never trained on, 0.5 is overconfident.
# Measured ECE (police complaints / disaster tweets / own call openings): T=0.8 0.080 / 0.075 /
# 0.127, T=0.7 0.074 / 0.050 / 0.098, T=0.6 0.067 / 0.039 / 0.067. 0.7 leans to the
# under-confident side of the best on real texts: a confident wrong answer costs more than an
# honest "uncertain" (uncertain on 16 % / 31 % of the real sets).
TEMPERATURE = 0.7
# Share of the model's probabilities that the sentence embedding gets (the rest: n-grams).
# An even blend; measured on real texts never trained on, 0.3-0.7 all beat either alone.
SEMANTIC_WEIGHT = 0.5
# ... unless the Urdu words are mostly not words: a recogniser's garble of phone audio (share
# of Urdu-script words the corpus knows: written openings 0.80-1.0, 5th-95th percentile;
# `own_recognised_urdu` 0.12-0.68). The embedding reads such text as some other sentence, so
# its share falls to nothing between these two shares. Measured on `own_recognised_urdu`:
# type 30.9 -> 33.0 %, top-3 56.1 -> 58.7 %, P1 recall 42.7 -> 46.3 %; written sets unchanged.
KNOWN_URDU_WORDS_FULL, KNOWN_URDU_WORDS_NONE = 0.8, 0.4
_LATIN_RE = re.compile(r"^[a-z0-9 '\-]+$")

__all__ = ["DEFAULT_TRAIN_PATH", "Example", "IncidentClassifier", "KeywordScorer",
           "load_examples"]


class NgramFeatures(BaseEstimator, TransformerMixin):
    """Character n-grams (spelling variants, slips) beside word uni- and bigrams (phrases), and
    with `sounds`, character n-grams of the Urdu words' sound skeleton (`sound_skeleton`): what
    whisper writes of Urdu on a phone line. Measured on `own_recognised_urdu`: top-3 53.0 ->
    56.1 %, type 30.4 -> 30.9 %; written text unchanged (one item either way).

    A plain `FeatureUnion` does the same but costs ~8 ms per transcript in its joblib dispatch;
    this stacks the two matrices directly (well under a millisecond)."""

    def __init__(self, sounds: bool = False) -> None:
        self.sounds = sounds

    def fit(self, texts: list[str], y: object = None) -> NgramFeatures:
        self.chars_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)
        self.words_ = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                      token_pattern=r"(?u)\b\w+\b")
        self.sounds_ = (TfidfVectorizer(analyzer="char", ngram_range=(3, 5), sublinear_tf=True,
                                        preprocessor=sound_skeleton) if self.sounds else None)
        for view in self.views:
            view.fit(texts)
        return self

    @property
    def views(self) -> list[TfidfVectorizer]:
        views = (self.chars_, self.words_, getattr(self, "sounds_", None))
        return [view for view in views if view is not None]

    def transform(self, texts: list[str]) -> sparse.csr_matrix:
        return sparse.hstack([view.transform(texts) for view in self.views], format="csr")

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """One text's non-zero (columns, values): the same numbers as `transform`, without
        scikit-learn's per-call validation (which costs more than the arithmetic)."""
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        offset = 0
        for vectorizer in self.views:
            vocabulary = vectorizer.vocabulary_
            counts: dict[int, int] = {}
            for gram in vectorizer.build_analyzer()(text):
                column = vocabulary.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if counts:
                cols = np.fromiter(counts, dtype=np.int64, count=len(counts))
                tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=float, count=len(counts)))
                weights = tf * vectorizer.idf_[cols]
                columns.append(cols + offset)
                values.append(weights / np.linalg.norm(weights))
            offset += len(vocabulary)
        if not columns:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        return np.concatenate(columns), np.concatenate(values)


def _pipeline() -> Pipeline:
    return Pipeline([
        ("features", NgramFeatures(sounds=True)),
        # Logistic loss by SGD: trains in a fraction of a second (lbfgs took 3-10 s on a busy
        # 2-core machine for the same accuracy); the temperature fixes its calibration.
        ("linear", SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=30, tol=None,
                                 random_state=0)),
    ])


def _fit(texts: list[str], labels: list[str], *, cache: bool) -> tuple[Pipeline, str]:
    """Fit the pipeline, or load the one fitted before on exactly the same training set,
    parameters, sound classes and scikit-learn version (the key hashes all four)."""
    # the sound classes are code, not a parameter: a changed table must refit
    sounds = sorted(SOUND_CLASSES.items())
    digest = hashlib.sha256(f"{sklearn.__version__}|{_pipeline()!r}|{sounds}".encode())
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    key = digest.hexdigest()[:20]
    model = load_or_fit(f"ngram-lr-{key}", lambda: _pipeline().fit(texts, labels),
                        cache=cache, kind=Pipeline)
    return model, key


def _training_set(taxonomy: dict[str, IncidentType],
                  examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    texts = [strip_fillers(e.text) for e in examples]
    labels = [e.incident_type for e in examples]
    return _with_keywords(taxonomy, texts, labels)


def _with_keywords(taxonomy: dict[str, IncidentType], texts: list[str],
                   labels: list[str]) -> tuple[list[str], list[str]]:
    """Keywords are short examples too: every type is learnable even with few sentences."""
    for name, incident_type in taxonomy.items():
        texts.extend(normalize(k) for k in incident_type.all_keywords)
        labels.extend([name] * len(incident_type.all_keywords))
    return texts, labels


def _semantic_training_set(taxonomy: dict[str, IncidentType],
                           examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    """Each written sentence once (augmented copies only add greetings and slips, which the
    embedding already shrugs off, at ~28 ms each) and the keywords."""
    originals: dict[int, Example] = {}
    for example in examples:
        originals.setdefault(example.group, example)
    texts = [strip_fillers(e.text) for e in originals.values()]
    labels = [e.incident_type for e in originals.values()]
    return _with_keywords(taxonomy, texts, labels)


def load_examples(path: Path) -> list[Example]:
    """Labelled examples from a JSONL file (`text`, `incident_type` per line)."""
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                examples.append(Example(row["text"], row["incident_type"], number))
            except (json.JSONDecodeError, KeyError) as exc:
                raise ValueError(f"{path}:{number}: bad example: {exc}") from exc
    return examples


class KeywordScorer:
    """Counts taxonomy keywords in a transcript; single Latin words also match fuzzily."""

    def __init__(self, taxonomy: dict[str, IncidentType]) -> None:
        self.types = list(taxonomy)
        self._phrases: list[tuple[int, str, bool]] = []  # type index, phrase, latin?
        single_words: list[tuple[int, str]] = []
        for index, incident_type in enumerate(taxonomy.values()):
            for keyword in dict.fromkeys(normalize(k) for k in incident_type.all_keywords):
                latin = bool(_LATIN_RE.match(keyword))
                self._phrases.append((index, keyword, latin))
                if latin and " " not in keyword and len(keyword) >= 5:
                    single_words.append((index, keyword))
        self._fuzzy_owner = [i for i, _ in single_words]
        self._fuzzy_words = [w for _, w in single_words]

    def scores(self, text: str) -> np.ndarray:
        norm = normalize(text)
        padded = f" {' '.join(tokens(norm))} "
        result = np.zeros(len(self.types))
        exact_words: set[str] = set()
        for index, phrase, latin in self._phrases:
            # Latin words, and Urdu words under four letters, must stand alone: "آگ" (fire) is
            # inside "آگے" (ahead), "بم" (bomb) inside a recogniser's "بمکار"
            whole = latin or len(phrase.replace(" ", "")) < URDU_WHOLE_WORD_BELOW
            hit = f" {phrase} " in padded if whole else phrase in norm
            if hit:
                result[index] += 1.5 if " " in phrase else 1.0
                exact_words.update(phrase.split())
        words = [w for w in set(tokens(norm)) if len(w) >= 5 and w not in exact_words]
        if words and self._fuzzy_words:
            matrix = process.cdist(words, self._fuzzy_words, scorer=fuzz.ratio,
                                   score_cutoff=FUZZY_KEYWORD_MIN)
            for col in np.unique(np.nonzero(matrix)[1]):
                result[self._fuzzy_owner[col]] += 0.6
        return result


class IncidentClassifier:
    """Ranks incident types for a (possibly partial) transcript.

    Scores blend a character + word n-gram linear model with keyword evidence; a temperature
    fitted on held-out folds of the training text turns them into calibrated probabilities;
    the safety rules (`safety.py`) then rule out "prank" when any danger cue is heard.
    """

    def __init__(self, taxonomy: dict[str, IncidentType], examples: Sequence[Example], *,
                 name: str | None = None, calibrate: bool = False,
                 calibrate_fold: bool = False,
                 embedder: Embedder | None | bool = True) -> None:
        """`embedder`: True loads the process's sentence embedding (if it can run here),
        None or False leaves it out (n-grams and keywords only)."""
        self.taxonomy = taxonomy
        self.types = list(taxonomy)
        self.keywords = KeywordScorer(taxonomy)
        unknown = {e.incident_type for e in examples} - set(self.types)
        if unknown:
            raise ValueError(f"examples use types missing from the taxonomy: {sorted(unknown)}")
        self.trained_on = len(examples)
        self.name = name or (f"ngram-lr/{len(examples)}" if examples else KEYWORDS_ONLY)
        texts, labels = _training_set(taxonomy, examples)
        self.model, key = _fit(texts, labels, cache=bool(examples) and not calibrate_fold)
        if examples:  # the name says which corpus, and which exact training set, fitted it
            self.name = f"{self.name}+{key[:8]}"
        if embedder is True:
            embedder = load_embedder() if examples else None
        self.semantic: SemanticScorer | None = None
        if embedder and examples:
            sem_texts, sem_labels = _semantic_training_set(taxonomy, examples)
            self.semantic = SemanticScorer(embedder, sem_texts, sem_labels,
                                           cache=not calibrate_fold)
            self._semantic_column = [self.semantic.classes.index(t)
                                     if t in self.semantic.classes else -1 for t in self.types]
            self.name = f"{self.name}+{SEMANTIC_NAME}"
        classes = list(self.model.classes_)
        self._column = [classes.index(t) if t in classes else -1 for t in self.types]
        linear = self.model.named_steps["linear"]
        self._coef_t = np.ascontiguousarray(linear.coef_.T)
        self._intercept = linear.intercept_
        self._prank = self.types.index(PRANK) if PRANK in self.types else -1
        self._danger_weights = np.array([DANGER_DEMOTES.get(t, 1.0) for t in self.types])
        self.temperature = TEMPERATURE if examples else 1.0
        if calibrate and examples:
            self.temperature = self._fit_temperature(examples)

    @classmethod
    def from_files(cls, taxonomy: dict[str, IncidentType],
                   train_path: Path = DEFAULT_TRAIN_PATH) -> IncidentClassifier:
        """Train from the packaged corpus (a folder of `<type>.txt`) or a JSONL file.

        Without it, triage still answers from the taxonomy keywords, but says so loudly: the
        log has an error and every result names the model `keywords-only`."""
        if not train_path.exists() or (train_path.is_dir() and not corpus_files(train_path)):
            log.error("triage training text %s not found: keywords only (broken install?)",
                      train_path)
            return cls(taxonomy, [])
        if train_path.is_dir():
            return cls(taxonomy, augment(load_corpus(train_path)),
                       name=f"ngram-lr/corpus-{corpus_digest(train_path)}")
        return cls(taxonomy, load_examples(train_path))

    def _model_probabilities(self, contents: list[str]) -> np.ndarray:
        """The linear model's one-vs-rest probabilities (rows: texts, columns: taxonomy
        types), computed directly: `predict_proba`'s numbers without its validation cost."""
        vectors = self.model.named_steps["features"].transform(contents)
        margins = np.asarray(vectors @ self._coef_t) + self._intercept
        p = 1.0 / (1.0 + np.exp(-margins))
        p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        out = np.zeros((len(contents), len(self.types)))
        for index, column in enumerate(self._column):
            if column >= 0:
                out[:, index] = p[:, column]
        return out

    def _model_probabilities_one(self, content: str) -> np.ndarray:
        columns, values = self.model.named_steps["features"].transform_one(content)
        margins = values @ self._coef_t[columns] + self._intercept
        p = 1.0 / (1.0 + np.exp(-margins))
        p = p / max(p.sum(), 1e-12)
        return np.array([p[c] if c >= 0 else 0.0 for c in self._column])

    def _semantic_probabilities(self, contents: list[str]) -> np.ndarray:
        assert self.semantic is not None
        p = self.semantic.probabilities(contents)
        out = np.zeros((len(contents), len(self.types)))
        for index, column in enumerate(self._semantic_column):
            if column >= 0:
                out[:, index] = p[:, column]
        return out

    def _combine_many(self, contents: list[str]) -> np.ndarray:
        """N-gram probabilities corrected by keyword evidence, then blended with the sentence
        embedding's (where it runs), one row per (filler-free) text. Measured: blending the
        embedding before the keywords cost 3 points on own call openings (95.8 vs 98.6 %)."""
        combined = (self._model_probabilities_one(contents[0])[None, :] if len(contents) == 1
                    else self._model_probabilities(contents))
        for row, content in enumerate(contents):
            keyword = self.keywords.scores(content)
            if keyword.sum() > 0:
                combined[row] = ((1 - KEYWORD_WEIGHT) * combined[row]
                                 + KEYWORD_WEIGHT * keyword / keyword.sum())
        combined = combined / combined.sum(axis=1, keepdims=True)
        if self.semantic is not None:  # a second, independent opinion, blended last
            weight = np.array([[self._semantic_weight(content)] for content in contents])
            combined = (1 - weight) * combined + weight * self._semantic_probabilities(contents)
        return combined

    def _semantic_weight(self, content: str) -> float:
        """The embedding's share for one text: less as its Urdu words stop being words."""
        urdu = [w for w in tokens(normalize(content)) if _ARABIC_RE.search(w)]
        if len(urdu) < 3:
            return SEMANTIC_WEIGHT
        known = self.model.named_steps["features"].words_.vocabulary_
        share = sum(w in known for w in urdu) / len(urdu)
        ramp = (share - KNOWN_URDU_WORDS_NONE) / (KNOWN_URDU_WORDS_FULL - KNOWN_URDU_WORDS_NONE)
        return SEMANTIC_WEIGHT * min(1.0, max(0.0, ramp))

    def _calibrated(self, combined: np.ndarray) -> np.ndarray:
        logits = np.log(np.clip(combined, 1e-9, 1.0)) / self.temperature
        p = np.exp(logits - logits.max())
        return p / p.sum()

    def _fit_temperature(self, examples: Sequence[Example]) -> float:
        """Temperature that minimises the log loss on grouped held-out folds (an augmented
        copy never sits in a fold beside its original)."""
        groups = np.array([e.group for e in examples])
        folds = GroupKFold(n_splits=CALIBRATION_FOLDS)
        scores, truth = [], []
        embedder = self.semantic.embedder if self.semantic is not None else None
        for train_idx, all_test_idx in folds.split(np.zeros(len(examples)), groups=groups):
            fold = IncidentClassifier(self.taxonomy, [examples[i] for i in train_idx],
                                      calibrate_fold=True, embedder=embedder)
            # Each held-out sentence once, as written (its augmented copies say the same).
            seen: set[int] = set()
            test_idx = [i for i in all_test_idx
                        if examples[i].group not in seen and not seen.add(examples[i].group)]
            scores.append(fold._combine_many([strip_fillers(examples[i].text)
                                              for i in test_idx]))
            truth += [self.types.index(examples[i].incident_type) for i in test_idx]
        logs = np.log(np.clip(np.vstack(scores), 1e-9, 1.0))
        rows = np.arange(len(truth))

        def loss(t: float) -> float:
            z = logs / t
            z = z - z.max(axis=1, keepdims=True)
            return float(-(z[rows, truth] - np.log(np.exp(z).sum(axis=1))).mean())

        return float(minimize_scalar(loss, bounds=(0.05, 5.0), method="bounded").x)

    def scores(self, text: str) -> tuple[np.ndarray, float]:
        """Calibrated probability per taxonomy type (taxonomy order) and the evidence 0..1."""
        content = strip_fillers(text)
        keyword = self.keywords.scores(content)
        p = self._calibrated(self._combine_many([content])[0])
        if danger_cues(text):
            # An emergency cue anywhere rules out a prank and weighs against "not an emergency".
            p = p * self._danger_weights
            p = p / p.sum()
        elif self._prank >= 0 and keyword[self._prank] == 0:
            # "Prank" costs a life when wrong: without a word that says so, it weighs less and is
            # never a confident answer (vague openings such as "i'm not sure what to say" read
            # as chatter to the models: measured up to 0.84 without the cap).
            p[self._prank] *= PRANK_WITHOUT_CUE
            p = p / p.sum()
            if p[self._prank] > PRANK_CAP_WITHOUT_CUE:
                rest = 1.0 - p[self._prank]
                p = p * ((1.0 - PRANK_CAP_WITHOUT_CUE) / rest if rest > 0 else 0.0)
                p[self._prank] = PRANK_CAP_WITHOUT_CUE
        return p, self.evidence(content, keyword)

    def probabilities(self, text: str) -> np.ndarray:
        """Probability per taxonomy type (in taxonomy order), summing to 1."""
        return self.scores(text)[0]

    def evidence(self, text: str, keyword: np.ndarray | None = None) -> float:
        """0..1: how much the transcript says so far. "Hello sir" says nothing, so the console
        must not show a confident guess at the start of every call."""
        content = strip_fillers(text)
        keyword = self.keywords.scores(content) if keyword is None else keyword
        if keyword.sum() > 0:
            return 1.0
        places = place_words()
        words = [w for w in tokens(content) if w not in NON_CONTENT_WORDS and w not in places]
        return min(1.0, len(words) / MIN_CONTENT_WORDS)

    def rank(self, text: str, *, top: int = 3) -> list[tuple[str, float]]:
        """The `top` most likely types with confidences, best first; confidences are scaled
        down while the transcript holds too few content words to judge. With no content at
        all, "prank" is never the first guess: greetings alone decide nothing."""
        p, evidence = self.scores(text)
        if evidence == 0.0 and self._prank >= 0:
            p = p.copy()
            p[self._prank] = 0.0
            p = p / p.sum()
        p = p * evidence
        order = np.argsort(-p, kind="stable")[:top]
        return [(self.types[i], float(p[i])) for i in order]

    def predict_many(self, texts: Iterable[str]) -> list[str]:
        return [self.rank(t, top=1)[0][0] for t in texts]
