"""Transcribe one finished utterance (a radio transmission, a voicemail) with either engine."""

from __future__ import annotations

from telephony.speech.audio import resample_pcm16
from telephony.speech.engines import SpeechEngines, VoskRecognizer
from telephony.speech.sink import FEED_BYTES


class UtteranceTranscriber:
    """`await transcriber(pcm, sample_rate) -> text`; carries `engine`/`model` for the log."""

    def __init__(
        self, engines: SpeechEngines, model: str | None = None, language: str | None = None
    ) -> None:
        self.engines = engines
        self.spec = engines.config.model(model)
        self.engine = self.spec.engine
        self.model = self.spec.name
        self.language = language

    async def __call__(self, pcm: bytes, sample_rate: int) -> str:
        if self.spec.engine == "whisper":
            whisper = await self.engines.run(self.engines.whisper, self.spec.name)
            pieces = await self.engines.run(whisper.transcribe_pcm, pcm, sample_rate, self.language)
            return " ".join(p.text for p in pieces).strip()
        recognizer = await self.engines.acquire_vosk(self.spec.name)
        return await self.engines.run(_vosk_whole, recognizer, pcm, sample_rate)


def _vosk_whole(recognizer: VoskRecognizer, pcm: bytes, sample_rate: int) -> str:
    pcm = resample_pcm16(pcm, sample_rate, recognizer.sample_rate)
    texts = []
    for i in range(0, len(pcm), FEED_BYTES):
        if recognizer.accept(pcm[i : i + FEED_BYTES]):
            texts.append(recognizer.result()[0])
    texts.append(recognizer.final()[0])
    return " ".join(t for t in texts if t)
