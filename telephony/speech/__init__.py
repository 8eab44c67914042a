"""Speech recognition for calls and radio: Vosk streaming, faster-whisper, model fetching.

Never imports `dispatch`: settings come in as `SpeechConfig`, events leave through an injected
`publish(stream, type, data)` coroutine.
"""

from telephony.speech.config import (
    ModelSpec,
    SpeechConfig,
    SpeechConfigError,
    bundled_models,
)
from telephony.speech.engines import (
    SpeechEngines,
    VoskRecognizer,
    WhisperEngine,
    load_vosk_model,
    load_whisper_model,
)
from telephony.speech.fetch import (
    CATALOGUE,
    DEPLOYMENT_MODELS,
    ChecksumError,
    FetchError,
    fetch_models,
    fetched_models,
)
from telephony.speech.jobs import ASR_QUEUE, enqueue_transcription, transcribe_recording
from telephony.speech.sink import (
    TRANSCRIPTS_STREAM,
    Publish,
    TranscriptionSink,
    TranscriptSegment,
    make_transcription_sink_factory,
)
from telephony.speech.utterance import UtteranceTranscriber
from telephony.speech.vad import Utterance, VadConfig, VadSegmenter

__all__ = [
    "ASR_QUEUE",
    "CATALOGUE",
    "DEPLOYMENT_MODELS",
    "TRANSCRIPTS_STREAM",
    "ChecksumError",
    "FetchError",
    "ModelSpec",
    "Publish",
    "SpeechConfig",
    "SpeechConfigError",
    "SpeechEngines",
    "TranscriptSegment",
    "TranscriptionSink",
    "Utterance",
    "UtteranceTranscriber",
    "VadConfig",
    "VadSegmenter",
    "VoskRecognizer",
    "WhisperEngine",
    "bundled_models",
    "enqueue_transcription",
    "fetch_models",
    "fetched_models",
    "load_vosk_model",
    "load_whisper_model",
    "make_transcription_sink_factory",
    "transcribe_recording",
]
