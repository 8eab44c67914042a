"""`helpline15 speech transcribe FILE`: one file through the live-call engine and guards.

`dispatch.cli` mounts it with the `SpeechConfig` built from the settings (the telephony
package never reads settings itself).
"""

from __future__ import annotations

import asyncio
import json
import wave
from pathlib import Path
from typing import Any

import typer

from telephony.speech.config import SpeechConfig, SpeechConfigError
from telephony.speech.engines import SpeechEngines
from telephony.speech.transcribe import transcribe_file


async def _transcribe(config: SpeechConfig, path: Path, language: str | None) -> dict[str, Any]:
    engines = SpeechEngines(config)
    try:
        await engines.start()
        return await transcribe_file(engines, path, language)
    finally:
        await engines.aclose()


def transcribe_command(config: SpeechConfig, path: Path, language: str, json_out: bool) -> None:
    """Print `{language, text, segments, rtf}` (JSON) or the text; exit 2 on bad input."""
    if not path.is_file():
        typer.echo(f"error: {path}: no such file", err=True)
        raise typer.Exit(2)
    try:
        result = asyncio.run(_transcribe(config, path, None if language == "auto" else language))
    except (ValueError, wave.Error, EOFError, SpeechConfigError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if json_out:
        typer.echo(json.dumps(result, ensure_ascii=False))
        return
    typer.echo(f"[{result['language']}] {result['text']}")
    if result["text_roman"]:
        typer.echo(f"[roman] {result['text_roman']}")
    typer.echo(f"rtf {result['rtf']} ({result['engine']} {result['model']})")
