"""Location extraction and geocoding of Lahore (and Islamabad/Rawalpindi) places."""

from __future__ import annotations

import pytest
from pak_geodata import haversine_distance_km

from dispatch.intake.gazetteer import Gazetteer, load_landmarks, spelling_key
from tests.conftest import require_data


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.build()


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return haversine_distance_km(a[0], a[1], b[0], b[1]) * 1000.0


@pytest.mark.parametrize(("text", "place"), [
    ("accident at Kalma Chowk, a car hit a bike", "Kalma Chowk"),
    ("fight going on near Data Darbar", "Data Darbar"),
    ("my father collapsed outside Services Hospital", "Services Hospital"),
    ("robbery in Johar Town Phase 1", "Johar Town Phase 1"),
    ("Anarkali bazaar mein dukan ko aag lagi hai", "Anarkali"),
    ("Ichhra mein larai ho rahi hai", "Ichhra"),
    ("shadman market ke samne firing", "Shadman"),
    ("Model Town mein chori ho gayi", "Model Town"),
    ("Liberty Chowk par traffic jam hai", "Liberty Chowk"),
    ("mall road par dharna hai", "Mall Road"),
    ("Faizabad par accident", "Faizabad Interchange"),
    ("G-9 markaz mein mobile cheena", "Sector G-9"),
])
def test_lahore_and_demo_city_places(gazetteer: Gazetteer, text: str, place: str) -> None:
    found = gazetteer.find(text)
    assert found and found[0].text.startswith(place), found


@pytest.mark.parametrize(("text", "place"), [
    ("کلمہ چوک پر حادثہ ہو گیا", "Kalma Chowk"),
    ("داتا دربار کے پاس لڑائی ہو رہی ہے", "Data Darbar"),
    ("ماڈل ٹاؤن میں چوری ہو گئی", "Model Town"),
    ("انارکلی میں آگ لگی ہے", "Anarkali"),
])
def test_urdu_script_places(gazetteer: Gazetteer, text: str, place: str) -> None:
    found = gazetteer.find(text)
    assert found and found[0].text == place, found


@pytest.mark.parametrize(("heard", "place"), [
    ("Sharing Cross", "Charing Cross"),      # misheard, not a listed alias
    ("Charring Kross", "Charing Cross"),
    ("Cartlac", "Kot Lakhpat"),               # a known recogniser confusion kept as an alias
    ("Kalama Chok", "Kalma Chowk"),
    ("Mayo Haspital", "Mayo Hospital"),
    ("Gulburg three", "Gulberg III"),
    ("Ichra", "Ichhra"),
    ("Shadmaan", "Shadman"),
])
def test_misheard_names_snap_to_the_gazetteer(gazetteer: Gazetteer, heard: str,
                                              place: str) -> None:
    snapped = gazetteer.snap(heard)
    assert snapped is not None and snapped.text == place
    assert snapped.matched  # the words it came from are reported


def test_points_are_where_the_places_are(gazetteer: Gazetteer) -> None:
    """Charing Cross is on the Mall, about 1.3 km east of GPO Chowk and far from Kalma Chowk."""
    charing = gazetteer.snap("Charing Cross")
    gpo = gazetteer.snap("GPO Chowk")
    kalma = gazetteer.snap("Kalma Chowk")
    assert charing and gpo and kalma
    assert 800 < metres((charing.lat, charing.lon), (gpo.lat, gpo.lon)) < 2000
    assert 5000 < metres((charing.lat, charing.lon), (kalma.lat, kalma.lon)) < 7000


def test_several_candidates_with_relation_and_detail(gazetteer: Gazetteer) -> None:
    found = gazetteer.find("Gulberg 3, block E, house 12, opposite Liberty Chowk, not Kalma Chowk")
    names = [c.text.split(",")[0] for c in found]
    assert set(names[:3]) == {"Gulberg III", "Liberty Chowk", "Kalma Chowk"}
    gulberg = next(c for c in found if c.text.startswith("Gulberg III"))
    assert "block E" in gulberg.text and "house 12" in gulberg.text
    liberty = next(c for c in found if c.text == "Liberty Chowk")
    assert liberty.relation == "opposite"
    assert all(0 < c.confidence <= 1 for c in found)


def test_no_place_no_candidate(gazetteer: Gazetteer) -> None:
    assert gazetteer.find("my husband is beating me please send someone quickly") == []
    assert gazetteer.find("") == []


def test_city_named_by_caller_wins_a_tie(gazetteer: Gazetteer) -> None:
    """Askari 10 exists in Lahore and in Rawalpindi; the caller's city decides."""
    rawalpindi = gazetteer.find("Askari 10 Rawalpindi mein chori")[0]
    assert rawalpindi.lat > 33
    lahore = gazetteer.find("Askari 10 mein chori")[0]
    assert lahore.lat < 32  # Lahore is the default city


def test_injected_osm_names_are_searchable() -> None:
    gazetteer = Gazetteer.build(osm_names=[
        ("Jinnah Avenue", 33.7100, 73.0600, "street"),
        ("Kashmir Highway", 33.6900, 73.0300, "street"),
        ("", 0.0, 0.0, "street"),  # blank names are skipped
    ])
    found = gazetteer.find("accident on jinah avenue near the signal")
    assert found and found[0].text == "Jinnah Avenue" and found[0].source == "osm"


def test_real_osm_street_names_from_the_demo_map() -> None:
    """Street names read from the real Islamabad-Rawalpindi extract resolve in transcripts."""
    osmium = pytest.importorskip("osmium")
    path = require_data("osm/islamabad_rawalpindi.osm.pbf")
    ways: list[tuple[str, float, float, str]] = []  # one row per named way, as routing gives
    processor = (osmium.FileProcessor(str(path)).with_locations()
                 .with_filter(osmium.filter.KeyFilter("highway")))
    for obj in processor:
        if obj.is_way() and "name" in obj.tags:
            nodes = [n for n in obj.nodes if n.location.valid()]
            if nodes:
                middle = nodes[len(nodes) // 2].location
                ways.append((obj.tags["name"], middle.lat, middle.lon, "street"))
    assert len({name for name, *_ in ways}) > 500
    gazetteer = Gazetteer.build(osm_names=ways)
    for road in ("Murree Road", "Jinnah Avenue", "Faisal Avenue"):
        points = [(lat, lon) for name, lat, lon, _ in ways if name == road]
        assert len(points) > 3  # a long road, many ways: kept as one place on the road
        found = gazetteer.find(f"{road} par accident ho gaya hai")
        assert found and found[0].text == road and found[0].source == "osm"
        assert (found[0].lat, found[0].lon) in points
    assert gazetteer.find("Street 4 mein chori") == []  # in dozens of sectors: not guessed


def test_landmark_file_is_sane() -> None:
    landmarks = load_landmarks()
    assert len(landmarks) >= 30
    for place in landmarks:
        assert 24 < place.lat < 37 and 60 < place.lon < 78, place
    keys = [spelling_key(p.name) for p in landmarks]
    assert len(keys) == len(set(keys))


def test_osm_repeats_merge_and_ambiguous_names_are_left_out() -> None:
    from dispatch.intake.gazetteer import osm_places

    long_road = [("Kashmir Highway", 33.6900 + i * 0.008, 73.0300 + i * 0.006, "street")
                 for i in range(8)]  # 8 ways chained over about 7 km
    places = osm_places([
        *long_road,
        ("Street 5", 33.7000, 73.0500, "street"),          # generic: says nothing of where
        *[("Gulshan Lane", 33.60 + i * 0.02, 73.00, "street") for i in range(7)],  # scattered
    ])
    assert [p.name for p in places] == ["Kashmir Highway"]
    assert (places[0].lat, places[0].lon) in {(lat, lon) for _, lat, lon, _ in long_road}
    assert 33.71 < places[0].lat < 33.73  # a point in the middle of the road, on the road
