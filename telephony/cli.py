"""Command-line entry points of the telephony package, mounted by ``dispatch.cli``.

``emulate_asterisk`` is a plain function with ``typer.Option`` defaults so the lead can
register it as ``helpline15 emulate-asterisk`` (``app.command("emulate-asterisk")(...)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path

import typer

from telephony.emulator.emulator import AsteriskEmulator
from telephony.emulator.script import ScriptError, load_script, run_script

log = logging.getLogger(__name__)


def emulate_asterisk(
    ami_port: int = typer.Option(5038, help="AMI port to listen on."),
    audiosocket: str = typer.Option(
        "127.0.0.1:9092", help="HOST:PORT of the AudioSocket server calls stream to."
    ),
    script: Path | None = typer.Option(
        None, help="TOML/JSON call script; without it the emulator waits for AMI Originate."
    ),
    ami_host: str = typer.Option("127.0.0.1", help="AMI address to listen on."),
    username: str = typer.Option("dispatch", envvar="AMI_USERNAME", help="AMI user accepted."),
    secret: str = typer.Option("dispatch", envvar="AMI_SECRET", help="AMI secret accepted."),
    wav: Path | None = typer.Option(
        None, help="8 kHz mono WAV played by calls that name no file (AMI Originate)."
    ),
) -> None:
    """Run the protocol-faithful Asterisk stand-in (AMI server + AudioSocket client)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        parsed = load_script(script) if script is not None else None
    except (ScriptError, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    asyncio.run(_emulate(ami_host, ami_port, audiosocket, username, secret, wav, parsed))


async def _emulate(ami_host, ami_port, audiosocket, username, secret, wav, script) -> None:
    emulator = AsteriskEmulator(ami_host, ami_port, audiosocket, username, secret, default_wav=wav)
    await emulator.start()
    typer.echo(
        f"emulated Asterisk: AMI on {ami_host}:{emulator.ami_port}, AudioSocket -> {audiosocket}"
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        if script is not None:
            runner = asyncio.create_task(run_script(emulator, script))
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if runner.done():
                for outcome in runner.result():
                    typer.echo(
                        json.dumps(
                            {
                                "linkedid": outcome.linkedid,
                                "uuid": outcome.audiosocket_uuid,
                                "bytes_sent": outcome.bytes_sent,
                                "end": outcome.end,
                                "cause": outcome.cause,
                            }
                        )
                    )
            else:
                runner.cancel()
        else:
            await stop.wait()
    finally:
        await emulator.stop()
