"""`helpline15 triage TEXT [--json]` and `helpline15 triage - --json` (one transcript a line).

Mounted by the lead with `app.command("triage")(triage_command)`. Importing this module is cheap;
the model is trained on the first transcript.
"""

from __future__ import annotations

import json
import sys

import typer

from dispatch.intake.schemas import TriageResult

CONTRACT_KEYS = ("incident_type", "priority", "confidence", "candidates", "location")


def _human(result: TriageResult) -> str:
    unsure = "  UNSURE: pick from the candidates" if result.uncertain else ""
    lines = [f"type:     {result.incident_type} ({result.confidence:.0%}){unsure}",
             f"priority: {result.priority}"]
    lines += [f"          - {reason}" for reason in result.priority_reasons]
    if result.location:
        lines.append(f"location: {result.location.text} ({result.location.lat:.5f}, "
                     f"{result.location.lon:.5f}) [{result.location.source}]")
    else:
        lines.append("location: none found")
    others = ", ".join(f"{c.incident_type} {c.confidence:.0%}" for c in result.candidates[1:])
    if others:
        lines.append(f"also:     {others}")
    lines.append(f"model:    {result.model}")
    return "\n".join(lines)


def triage_command(
    text: str = typer.Argument(..., help="Transcript text, or '-' to read one per stdin line."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON (one object per line)."),
) -> None:
    """Suggest incident type, priority and location for a transcript."""
    from dispatch.intake.service import triage

    lines = sys.stdin if text == "-" else [text]
    failures = 0
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            result = triage(text=line)
        except ValueError as exc:  # one bad line must not lose the others
            failures += 1
            typer.echo(f"line {number}: {exc}", err=True)
            continue
        if json_out:
            typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        else:
            typer.echo(_human(result))
    if failures:
        raise typer.Exit(1)
