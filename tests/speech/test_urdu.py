"""The default engine (multilingual whisper base) on the shared Urdu and English clips.

Every clip goes through `transcribe_file`, i.e. the live call path: energy VAD, language
choice, Silero gate, greedy local-agreement partials and a beam-5 final.
"""

from __future__ import annotations

import pytest

from telephony.speech import SpeechEngines
from telephony.speech.scoring import cer
from telephony.speech.transcribe import transcribe_file
from tests.speech.helpers import references, sample

URDU = ("ur1", "ur2", "ur3", "ur4", "ur5", "ur6")
# Measured (whisper base int8, ctranslate2 4.8.5; deterministic on one CPU, not across CPUs):
# corpus CER on the telephone clips / at 16 kHz 0.467 / 0.420 on the AVX-512 machines of earlier
# sessions, 0.561 / 0.467 on an AMD EPYC with AVX2 only (float32 there: 0.533 on the telephone
# clips). Greedy partials and beam search flip on tiny numeric differences between CPU kernels,
# and whisper base on noisy Urdu phone audio is that fragile. The goal is 0.30; no general
# decoding setting we tried reached it (README, Speech), so this asserts what the shipped model
# does on the CPUs we have seen, with a small margin, to catch regressions.
MAX_CER = {"tel8k": 0.60, "16k": 0.50}
INCIDENT = {
    "ur1": "road_traffic_accident",
    "ur2": "burglary",
    "ur3": "fire",
    "ur4": "medical_emergency",
    "ur5": "firing_shooting",
    "ur6": "robbery_snatching",
}


_TRANSCRIPTS: dict[str, dict] = {}


async def _transcript(engines: SpeechEngines, clip: str) -> dict:
    """One live-path pass per clip for the module: on one CPU it is deterministic, and each
    pass costs seconds of CPU that the CER and triage tests need not pay twice."""
    if clip not in _TRANSCRIPTS:
        _TRANSCRIPTS[clip] = await transcribe_file(engines, sample(f"{clip}.wav"))
    return _TRANSCRIPTS[clip]


def _corpus_cer(hypotheses: dict[str, str]) -> float:
    refs = references()
    size = {cid: len(refs[cid].replace(" ", "")) for cid in hypotheses}
    errors = sum(cer(refs[cid], text) * size[cid] for cid, text in hypotheses.items())
    return errors / sum(size.values())


@pytest.mark.slow
@pytest.mark.parametrize("suffix", ["tel8k", "16k"])
async def test_urdu_clips_character_error_rate(
    multilingual_engines: SpeechEngines, suffix: str
) -> None:
    results = {cid: await _transcript(multilingual_engines, f"{cid}_{suffix}") for cid in URDU}
    assert {r["language"] for r in results.values()} == {"ur"}, "detected as Urdu, every one"
    for r in results.values():
        assert any("\u0600" <= ch <= "\u06ff" for ch in r["text"]), "kept in Arabic script"
        assert r["text_roman"].isascii() and r["text_roman"].strip()
    assert _corpus_cer({cid: r["text"] for cid, r in results.items()}) <= MAX_CER[suffix]


@pytest.mark.slow
async def test_english_callers_are_detected_and_written_in_english(
    multilingual_engines: SpeechEngines,
) -> None:
    for cid in ("en1", "en4"):
        result = await transcribe_file(multilingual_engines, sample(f"{cid}_tel8k.wav"))
        assert result["language"] == "en", result
        assert result["text"].isascii() and result["text_roman"] == ""
        assert cer(references()[cid], result["text"].lower()) < 0.4, result


async def test_forced_language_is_kept_and_unknown_is_refused(
    multilingual_engines: SpeechEngines,
) -> None:
    result = await transcribe_file(multilingual_engines, sample("ur4_tel8k.wav"), "ur")
    assert result["language"] == "ur" and result["segments"]
    assert result["rtf"] > 0
    with pytest.raises(ValueError, match="'fr' is not one of"):
        await transcribe_file(multilingual_engines, sample("ur4_tel8k.wav"), "fr")


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="measured: at CER 0.47-0.49 triage gets 1 of 6 Urdu telephone transcripts right "
    "(which one varies with the CPU's int8 kernels); a better model (README, Speech) is needed",
)
async def test_each_urdu_transcript_gives_its_incident_type(
    multilingual_engines: SpeechEngines,
) -> None:
    from dispatch.intake.service import triage

    wrong = {}
    for cid, expected in INCIDENT.items():
        text = (await _transcript(multilingual_engines, f"{cid}_tel8k"))["text"]
        got = triage(text=text).incident_type
        if got != expected:
            wrong[cid] = (got, text)
    assert not wrong, wrong


def test_speech_transcribe_command_prints_the_live_path_as_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from typer.testing import CliRunner

    from dispatch.cli import app

    clip = sample("ur4_tel8k.wav")
    result = CliRunner().invoke(app, ["speech", "transcribe", str(clip), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"language", "text", "segments", "rtf"} <= set(data)
    assert data["language"] == "ur" and data["model"] == "whisper-base"
    assert data["text"] == " ".join(s["text"] for s in data["segments"])
    bad = tmp_path / "stereo.txt"
    bad.write_text("not audio")
    refused = CliRunner().invoke(app, ["speech", "transcribe", str(bad), "--language", "ur"])
    assert refused.exit_code == 2 and "RIFF" in refused.output
