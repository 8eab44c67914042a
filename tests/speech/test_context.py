"""Whisper's encoder sees the speech plus a margin (at least 15 s), not 30 s of padding."""

from __future__ import annotations

import numpy as np
from faster_whisper.audio import pad_or_trim

from telephony.speech import SpeechEngines
from telephony.speech.audio import pcm16_to_float32, read_wav, resample_pcm16
from telephony.speech.context import context_frames, encoder_context
from tests.speech.helpers import sample


def _padded(content_frames: int) -> np.ndarray:
    features = np.zeros((80, 3000), np.float32)
    features[:, :content_frames] = -0.5  # log-mel of speech is never an all-zero column
    return features


def test_context_is_the_content_plus_a_second_within_the_window() -> None:
    assert context_frames(_padded(200), min_context_s=15) == 1500  # a 2 s partial
    assert context_frames(_padded(2001), min_context_s=15) == 2102  # content + 1 s, even
    assert context_frames(_padded(2950), min_context_s=15) == 3000  # never past the window
    assert context_frames(_padded(200), min_context_s=30) == 3000  # whisper's own behaviour
    assert context_frames(_padded(0)[None], min_context_s=15) == 1500  # batch axis, silence


async def test_the_shipped_model_encodes_a_short_utterance_on_15_s(
    multilingual_engines: SpeechEngines,
) -> None:
    model = multilingual_engines.guarded().model
    pcm, rate = read_wav(sample("ur3_tel8k.wav"))  # 4.2 s
    features = model.feature_extractor(pcm16_to_float32(resample_pcm16(pcm, rate, 16000)))
    encoded = model.encode(pad_or_trim(features)[None])
    assert encoded.shape[1] == 750  # 15 s at the encoder's 20 ms per position, not 1,500


async def test_a_decode_may_ask_for_less_context_on_its_own_thread_only(
    multilingual_engines: SpeechEngines,
) -> None:
    model = multilingual_engines.guarded().model
    pcm, rate = read_wav(sample("ur3_tel8k.wav"))  # 4.2 s
    features = pad_or_trim(
        model.feature_extractor(pcm16_to_float32(resample_pcm16(pcm, rate, 16000)))
    )[None]
    with encoder_context(8.0):
        assert model.encode(features).shape[1] == 400  # 8 s
        with encoder_context(None):  # back to the model's own minimum inside
            assert model.encode(features).shape[1] == 750
        other = await multilingual_engines.run(model.encode, features)  # a decode thread
        assert other.shape[1] == 750
    assert model.encode(features).shape[1] == 750


async def test_a_long_prompt_and_prefix_still_fit_whisper_448_tokens(
    multilingual_engines: SpeechEngines,
) -> None:
    """The per-second token cap must leave room for the vocabulary prompt and the committed
    words (faster-whisper refuses a decode whose prompt and budget pass 448 tokens)."""
    from telephony.speech.whisper import MAX_TOKENS, GuardedWhisper

    places = tuple(f"Mohalla {n}" for n in range(200))  # a large map's names fill the prompt
    whisper = GuardedWhisper(multilingual_engines.whisper(), vocabulary=places)
    pcm, rate = read_wav(sample("ur1_tel8k.wav"))
    long_call = pcm * 4  # 23 s: the cap alone would allow 590 tokens
    committed = " ".join(["پولیس"] * 60)
    budget = whisper._token_budget(len(long_call) / 2 / rate, committed)
    assert 1 <= budget < MAX_TOKENS - whisper.prompt_tokens
    result = await multilingual_engines.run(
        whisper.decode_pcm, long_call, rate, "ur", committed, 1
    )
    assert result.language == "ur"


async def test_a_prefix_longer_than_whisper_keeps_never_ends_the_decode(
    multilingual_engines: SpeechEngines,
) -> None:
    """A 30 s utterance of committed words with a full vocabulary prompt: faster-whisper keeps
    223 tokens of the prefix, and the budget must count what it keeps, not what was given
    (an error here would end the call's live transcript)."""
    from telephony.speech.whisper import KEPT_TOKENS, MAX_TOKENS, GuardedWhisper

    whisper = GuardedWhisper(
        multilingual_engines.whisper(), vocabulary=tuple(f"Mohalla {n}" for n in range(200))
    )
    committed = " ".join(["پولیس", "جلدی", "بھیجیں"] * 80)
    budget = whisper._token_budget(30.0, committed)
    assert budget is not None and budget > 1  # room is left beside the 223 kept tokens
    assert 5 + whisper.prompt_tokens + KEPT_TOKENS + budget <= MAX_TOKENS
    pcm, rate = read_wav(sample("ur1_tel8k.wav"))
    result = await multilingual_engines.run(whisper.decode_pcm, pcm * 5, rate, "ur", committed, 1)
    assert result.language == "ur"
