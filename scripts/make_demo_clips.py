#!/usr/bin/env python3
"""Write the demo's spoken calls (dispatch/demo/clips/*.wav) from clips.toml.

The WAVs are COMMITTED: the demo must place spoken calls on a fresh clone with nothing beside
it, and a user need not have espeak-ng. Re-run this only after editing clips.toml:

    apt-get install -y espeak-ng sox
    python scripts/make_demo_clips.py

Each clip is spoken by espeak-ng (150 words per minute), then made to sound like a phone line
with sox: 8 kHz mono, band-passed 300-3400 Hz, through G.711 mu-law and back to 16-bit PCM
(what Asterisk's AudioSocket sends), with silence trimmed and the level normalised.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

CLIPS = Path(__file__).resolve().parents[1] / "dispatch" / "demo" / "clips"


def make_clip(text: str, voice: str, target: Path, work: Path, *, speed: int = 150,
              pitch: int = 50) -> None:
    spoken, ulaw = work / "spoken.wav", work / "line.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w",
                    str(spoken), text], check=True)
    subprocess.run(["sox", str(spoken), "-r", "8000", "-c", "1", "-e", "u-law", str(ulaw),
                    "sinc", "300-3400", "silence", "1", "0.05", "0.5%", "reverse",
                    "silence", "1", "0.05", "0.5%", "reverse", "norm", "-3"], check=True)
    subprocess.run(["sox", str(ulaw), "-e", "signed-integer", "-b", "16", str(target)],
                   check=True)


def main() -> int:
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        print(f"needs {' and '.join(missing)}: apt-get install -y espeak-ng sox", file=sys.stderr)
        return 1
    manifest = tomllib.loads((CLIPS / "clips.toml").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        for clip in manifest["clips"]:
            target = CLIPS / clip["file"]
            make_clip(clip["text"], clip["voice"], target, Path(tmp))
            print(f"{target.name}: {target.stat().st_size // 1024} KB  {clip['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
