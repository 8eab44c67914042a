"""`helpline15 map ...` commands (the lead mounts `map_app` under the main CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from routing.types import RoutingError

map_app = typer.Typer(help="Import and inspect OSM road maps for routing.", no_args_is_help=True)
err = Console(stderr=True)


@map_app.command("import")
def import_map(
    file: Annotated[Path, typer.Argument(help="OSM extract: .osm, .osm.bz2 or .osm.pbf")],
    name: Annotated[str | None, typer.Option(help="map name (default: from the file name)")] = None,
    bbox: Annotated[str | None, typer.Option(help="keep only S,W,N,E (degrees)")] = None,
    out: Annotated[Path, typer.Option(envvar="MAP_DIR", help="where compiled maps go")] = Path(
        "var/maps"
    ),
    as_json: Annotated[
        bool, typer.Option("--json", help="print {name, nodes, edges, path}")
    ] = False,
) -> None:
    """Compile an OSM extract into the routing graph and the consoles' vector tiles (cached by a
    hash of the input)."""
    from routing.compile import compile_map, parse_bbox
    from routing.graph import RoadGraph

    try:
        box = parse_bbox(bbox) if bbox else None
        with Progress(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=as_json,
        ) as bar:
            task = bar.add_task("starting", total=1.0)

            def report(stage: str, fraction: float) -> None:
                bar.update(task, description=stage, completed=fraction)

            path = compile_map(file, out, name=name, bbox=box, progress=report)
        graph = RoadGraph.load(path)
    except RoutingError as exc:
        if as_json:
            typer.echo(json.dumps({"error": str(exc)}))
        else:
            err.print(f"[red]map import failed:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    from routing.tiles import tiles_path

    tiles = tiles_path(path)
    summary = {
        "name": graph.meta.get("name"),
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "path": str(path),
    }
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        err.print(
            f"[green]imported[/green] {summary['name']}: {summary['nodes']:,} nodes, "
            f"{summary['edges']:,} edges, {len(graph.pois('police'))} police stations → {path}"
        )
        if tiles.is_file():
            err.print(f"vector tiles ({tiles.stat().st_size / 1e6:.1f} MB) → {tiles}")


@map_app.command("fetch")
def fetch_map(
    city: Annotated[str, typer.Option(help="city to cut from the Pakistan extract")] = "lahore",
    dest: Annotated[Path, typer.Option(envvar="MAP_DIR", help="download folder")] = Path(
        "var/maps"
    ),
) -> None:
    """Download Geofabrik's Pakistan extract (MD5-checked) and cut the city's box."""
    from routing.fetch import fetch_city

    try:
        path = fetch_city(city, dest)
    except (RoutingError, OSError) as exc:
        err.print(f"[red]fetch failed:[/red] {exc}")
        raise typer.Exit(code=1) from exc
    typer.echo(str(path))
