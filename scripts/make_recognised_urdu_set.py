#!/usr/bin/env python3
"""Write tests/data/triage/recognised_urdu.jsonl: what the shipped recogniser makes of the
blind sets' Urdu-script call openings spoken down a phone line, for `bench triage`.

Triage is measured on written text; a live call reaches it through whisper. Each Urdu-script
opening of the five blind sets is spoken by espeak-ng (Urdu voice, speed and pitch varied),
turned into telephone audio exactly as the demo clips are (8 kHz, 300-3400 Hz, G.711 mu-law),
and decoded as a live call's final is: the default model (multilingual whisper base, int8),
Urdu, beam 5, behind the same guards (VAD, log-probability, loops, other scripts, characters
per second). Openings that come out empty are left out (no words, nothing to triage).
espeak is a robot voice, so this measures how triage copes with recogniser noise, not how
well real callers are understood. The file is COMMITTED; re-run after the blind sets change:

    apt-get install -y espeak-ng sox
    .venv/bin/python scripts/make_recognised_urdu_set.py
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import wave
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_demo_clips import make_clip  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OWN = ROOT / "tests" / "data" / "triage"
# One random stream per group of writers (development sets, kept-back sets), as first made.
GROUPS = (("blind", "blind_dev", "blind_dev2"), ("blind_kept", "blind_kept2"))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from dispatch.runtime import speech_config
    from dispatch.settings import load_settings
    from telephony.speech.engines import SpeechEngines

    whisper = SpeechEngines(speech_config(load_settings())).guarded()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for group in GROUPS:
            rng = random.Random(7)
            for name in group:
                lines = (OWN / f"{name}.jsonl").read_text("utf-8").splitlines()
                for number, line in enumerate(lines):
                    row = json.loads(line)
                    if row["language"] != "ur":
                        continue
                    speed, pitch = rng.choice([135, 150, 165]), rng.choice([35, 50, 65])
                    clip = Path(tmp) / "call.wav"
                    make_clip(row["text"], "ur", clip, Path(tmp), speed=speed, pitch=pitch)
                    with wave.open(str(clip), "rb") as audio:
                        pcm = audio.readframes(audio.getnframes())
                    heard = whisper.decode_pcm(pcm, 8000, "ur", beam_size=5).text.strip()
                    if heard:
                        out.append({"text": heard, "incident_type": row["incident_type"],
                                    "language": "ur",
                                    "life_threatening": row["life_threatening"],
                                    "written": row["text"], "source": f"{name}:{number + 1}",
                                    "espeak": {"speed": speed, "pitch": pitch}})
                    print(f"{name}:{number + 1} {heard[:70]}", flush=True)
    target = OWN / "recognised_urdu.jsonl"
    target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), "utf-8")
    print(f"{target.name}: {len(out)} openings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
