"""The triage API, the CLI and the taxonomy loader, end to end."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dispatch.intake.cli import triage_command
from dispatch.intake.gazetteer import Gazetteer
from dispatch.intake.history import PastCall
from dispatch.intake.service import triage
from dispatch.intake.taxonomy import TaxonomyError, load_taxonomy

INTERFACE_TYPES = {
    "road_traffic_accident", "robbery_snatching", "burglary", "assault_fight", "firing_shooting",
    "fire", "medical_emergency", "kidnapping_missing_person", "domestic_violence", "harassment",
    "suspicious_activity", "terrorism_bomb_threat", "traffic_jam_obstruction", "noise_nuisance",
    "prank_non_emergency", "information_request",
}
URDU = re.compile(r"[\u0600-\u06FF]")


def test_taxonomy_matches_the_interface() -> None:
    taxonomy = load_taxonomy()
    assert set(taxonomy) == INTERFACE_TYPES
    for item in taxonomy.values():
        assert item.default_priority in {"P1", "P2", "P3", "P4"}
        assert URDU.search(item.label_ur)
        assert item.keywords_en and item.keywords_roman and item.keywords_ur
        assert all(URDU.search(k) for k in item.keywords_ur)
        assert not any(URDU.search(k) for k in item.keywords_en + item.keywords_roman)
    assert taxonomy["firing_shooting"].default_priority == "P1"
    assert taxonomy["information_request"].default_priority == "P4"


def test_bad_taxonomy_files_fail_clearly(tmp_path: Path) -> None:
    path = tmp_path / "types.toml"
    path.write_text('[fire]\ndefault_priority = "P0"\nlabel_en = "Fire"\nlabel_ur = "آگ"\n')
    with pytest.raises(TaxonomyError, match="default_priority"):
        load_taxonomy(path)
    with pytest.raises(TaxonomyError, match="not found"):
        load_taxonomy(tmp_path / "missing.toml")


def test_result_has_the_interface_shape() -> None:
    result = triage(text="Caring Cross ke paas accident ho gaya, aik bacha zakhmi hai")
    data = result.model_dump(mode="json")
    assert list(data)[:5] == ["incident_type", "priority", "confidence", "candidates", "location"]
    assert set(data) == {"incident_type", "priority", "confidence", "candidates", "location",
                         "priority_reasons", "location_candidates", "language", "uncertain",
                         "model"}
    assert data["model"].startswith("ngram-lr/corpus-")  # the packaged corpus, not keywords
    assert data["incident_type"] == "road_traffic_accident"
    assert data["priority"] == "P1"  # P2 raised by injuries
    assert data["location"]["text"] == "Charing Cross"
    assert data["location"]["source"] == "landmark"
    assert set(data["location_candidates"][0]) >= {"text", "lat", "lon", "confidence", "source",
                                                   "matched"}
    assert data["location_candidates"][0]["matched"] == "caring cross"
    assert data["language"] == "roman"


def test_no_location_is_null() -> None:
    result = triage(text="my husband is beating me")
    assert result.location is None and result.location_candidates == []


def test_caller_history_raises_priority() -> None:
    text = "hamari gali mein larai ho gayi hai"
    alone = triage(text=text)
    history = [PastCall(datetime.now(UTC) - timedelta(minutes=8), "assault_fight",
                        "dispatched", 80.0, "inc-1")]
    again = triage(text=text, caller_history=history)
    order = ["P1", "P2", "P3", "P4"]
    assert order.index(again.priority) == order.index(alone.priority) - 1
    assert any("repeat caller" in r for r in again.priority_reasons)


def test_injected_gazetteer_is_used() -> None:
    streets = Gazetteer.build(osm_names=[("Murree Road", 33.6200, 73.0650, "street")])
    result = triage(text="Murree Road par firing ho rahi hai", gazetteer=streets)
    assert result.location is not None and result.location.text == "Murree Road"


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        triage(text="   ")


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(triage_command)
    return app


def test_cli_text_and_json() -> None:
    runner = CliRunner()
    human = runner.invoke(_app(), ["Liberty Chowk par firing ho rahi hai"])
    assert human.exit_code == 0, human.output
    assert "firing_shooting" in human.output and "Liberty Chowk" in human.output
    as_json = runner.invoke(_app(), ["Liberty Chowk par firing ho rahi hai", "--json"])
    assert json.loads(as_json.output)["priority"] == "P1"


def test_cli_stdin_one_object_per_line_and_bad_lines_do_not_lose_others() -> None:
    lines = "Kalma Chowk par accident\n\nمیرا شوہر مجھے مار رہا ہے\n"
    result = CliRunner().invoke(_app(), ["-", "--json"], input=lines)
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert [o["incident_type"] for o in objects] == ["road_traffic_accident",
                                                     "domestic_violence"]


def test_bench_quick_reports_the_figures() -> None:
    from bench.triage import run

    figures = run(quick=True)
    for key in ("type_accuracy", "accuracy_by_type", "accuracy_by_language",
                "location_hit_rate", "p50_ms", "p95_ms"):
        assert key in figures
    assert figures["type_accuracy"] > 0.8
    assert set(figures["accuracy_by_language"]) == {"en", "roman", "ur", "mixed"}


def test_live_suggestions_follow_the_transcript_stream() -> None:
    from dispatch.intake.service import LiveTriage

    live = LiveTriage()
    stream = [
        ("hello", False), ("hello sir", True),
        ("Kalma", False), ("Kalma Chowk ke paas", True),
        ("do larke", False), ("do larke pistol dikha kar", False),
        ("do larke pistol dikha kar mera mobile cheen kar bhaag gaye", True),
    ]
    updates = [live.update(segment, final=final) for segment, final in stream]
    result, _ = updates[-1]
    assert result is not None
    assert result.incident_type == "robbery_snatching"
    assert result.priority == "P1"  # weapon raised P2
    assert result.location is not None and result.location.text == "Kalma Chowk"
    assert live.final_text.startswith("hello sir Kalma Chowk ke paas do larke")
    assert updates[0][1] is True  # the first suggestion is always news
    changes = [changed for _, changed in updates]
    assert 1 < sum(changes) < len(changes)  # pushed when it changed, not on every word
    assert live.update("   ", final=True) == (result, False)


@given(st.text(min_size=1, max_size=300).filter(str.strip))
@settings(max_examples=100, deadline=None)
def test_any_transcript_gets_a_well_formed_suggestion(text: str) -> None:
    result = triage(text=text)
    assert result.incident_type in INTERFACE_TYPES
    assert result.priority in {"P1", "P2", "P3", "P4"}
    assert 0.0 <= result.confidence <= 1.0
