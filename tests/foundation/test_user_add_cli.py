"""`helpline15 user add` takes the password from a hidden prompt, a file or a variable, so it
never has to appear in the process list; `--password` still works but warns."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import select as sql_select
from sqlalchemy.orm import Session

from dispatch.auth.security import verify_password
from dispatch.users.models import User

CLI = [sys.executable, "-m", "dispatch.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite database of the test's own (`user add` runs as an operator runs it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("H15_PASSWORD", "SECRET_KEY")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'users.db'}"
    env["REDIS_URL"] = "memory://"
    upgraded = subprocess.run([*CLI, "db", "upgrade"], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    return env


def password_of(env: dict[str, str], username: str, password: str) -> bool:
    engine = create_engine(env["DATABASE_URL"])
    try:
        with Session(engine) as session:
            user = session.scalar(sql_select(User).where(User.username == username))
            assert user is not None, f"{username} was not created"
            return verify_password(user.password_hash, password)
    finally:
        engine.dispose()


def add(env: dict[str, str], *args: str, stdin: str = "",
        extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, "user", "add", *args], env={**env, **(extra_env or {})},
                          input=stdin, capture_output=True, text=True, timeout=120)


def test_password_from_a_file(env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "pw.txt"
    secret.write_text("from-a-file 42\n")
    done = add(env, "ct1", "--role", "call_taker", "--password-file", str(secret))
    assert done.returncode == 0, done.stderr
    assert password_of(env, "ct1", "from-a-file 42")
    piped = add(env, "ct2", "--role", "call_taker", "--password-file", "-",
                stdin="from-stdin\n")
    assert piped.returncode == 0, piped.stderr
    assert password_of(env, "ct2", "from-stdin")
    missing = add(env, "ct3", "--role", "call_taker", "--password-file", str(tmp_path / "no"))
    assert missing.returncode == 2 and "cannot read --password-file" in missing.stderr


def test_password_from_an_environment_variable(env: dict[str, str]) -> None:
    named = add(env, "d1", "--role", "dispatcher", "--password-env", "NEW_PW",
                extra_env={"NEW_PW": "from-named-var"})
    assert named.returncode == 0, named.stderr
    assert password_of(env, "d1", "from-named-var")
    default = add(env, "d2", "--role", "dispatcher", extra_env={"H15_PASSWORD": "from-h15-var"})
    assert default.returncode == 0, default.stderr
    assert password_of(env, "d2", "from-h15-var")
    unset = add(env, "d3", "--role", "dispatcher", "--password-env", "NOT_SET_ANYWHERE")
    assert unset.returncode == 2 and "NOT_SET_ANYWHERE" in unset.stderr


def read_until(fd: int, marker: bytes, seen: bytearray, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while marker not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                chunk = b""
            assert chunk, f"ended before {marker!r}: {bytes(seen)!r}"
            seen += chunk


def test_password_from_a_hidden_confirmed_prompt(env: dict[str, str]) -> None:
    """On a real terminal (a pty): asked twice, never echoed, a mismatch asked again."""
    master, slave = os.openpty()
    proc = subprocess.Popen([*CLI, "user", "add", "sup1", "--role", "supervisor"], env=env,
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    seen, transcript = bytearray(), b""
    try:
        # Wait for each prompt itself: getpass flushes what was typed before it asks, and the
        # mismatch's "Error: " line is not a prompt.
        for prompt, typed in ((b"Password: ", b"first-try"), (b"confirmation: ", b"mismatch"),
                              (b"Password: ", b"typed-at-prompt"),
                              (b"confirmation: ", b"typed-at-prompt")):
            read_until(master, prompt, seen)
            transcript += bytes(seen)
            seen.clear()
            os.write(master, typed + b"\n")
        read_until(master, b"created user sup1", seen)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    transcript += bytes(seen)
    assert transcript.count(b"Password") == 2 and b"do not match" in transcript
    assert b"typed-at-prompt" not in transcript and b"first-try" not in transcript
    assert password_of(env, "sup1", "typed-at-prompt")


def test_password_on_the_command_line_still_works_but_warns(env: dict[str, str]) -> None:
    done = add(env, "a1", "--role", "admin", "--password", "old-style")
    assert done.returncode == 0, done.stderr
    assert "deprecated" in done.stderr and "process list" in done.stderr
    assert password_of(env, "a1", "old-style")
    both = add(env, "a2", "--role", "admin", "--password", "x1234", "--password-env", "PW")
    assert both.returncode == 2 and "one way" in both.stderr
