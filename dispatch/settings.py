"""Settings from environment variables, `.env` and `config/settings.toml` (in that precedence).

A wrong or missing value stops start-up with a message naming the variable, because a dispatch
service that starts half-configured fails later, in the middle of a call.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = Path(os.environ.get("H15_CONFIG_DIR", REPO_ROOT / "config"))
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def default_home() -> Path:
    """Where the demo and the servers write (SQLite file, compiled maps, recordings), so that
    nothing depends on the current folder: a source checkout's `var/`, else the user's data
    folder (`$XDG_DATA_HOME/helpline15`, by default `~/.local/share/helpline15`)."""
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "var"
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "helpline15"

Role = Literal["call_taker", "dispatcher", "sho", "supervisor", "admin"]
ROLES: tuple[str, ...] = ("call_taker", "dispatcher", "sho", "supervisor", "admin")


class SettingsError(RuntimeError):
    """Raised when configuration cannot be used; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        toml_file=CONFIG_DIR / "settings.toml",
    )

    # Relative paths below (and a relative SQLite file) are taken under `home` (H15_HOME).
    home: Path = Field(default_factory=default_home, alias="H15_HOME")
    database_url: str = "sqlite:///helpline15.db"
    redis_url: str = "memory://"
    secret_key: str | None = Field(default=None, repr=False)
    token_ttl_minutes: int = Field(default=720, gt=0, le=7 * 24 * 60)
    # A static bearer token for Prometheus scrapes of /metrics (a supervisor's JWT works too).
    metrics_token: str | None = Field(default=None, min_length=32, repr=False)

    ami_host: str = "127.0.0.1"
    ami_port: int = Field(default=5038, gt=0, lt=65536)
    ami_username: str = "dispatch"
    ami_secret: str | None = Field(default=None, repr=False)
    audiosocket_bind: str = "127.0.0.1:9092"
    # Punjab Emergency I (POST /calls/{id}/conference): how long an SHO's phone rings before
    # the console is told "no answer", and how a bare phone number is dialled.
    sho_answer_timeout_s: float = Field(default=30.0, gt=0, le=300)
    outbound_dial: str = "PJSIP/{number}@trunk"
    # Calls the gateway recognises live at once (bench asr: calls per core x cores); calls
    # beyond it are recorded and transcribed by the asr workers right after hang-up.
    asr_live_calls: int = Field(default=4, ge=0, le=10_000)

    asr_engine: Literal["vosk", "whisper"] = "whisper"
    asr_model_path: str | None = None
    # A call's language: the deployment default, and what per-call detection may choose.
    asr_language: str = "ur"
    asr_languages: str = "ur,en,pa"
    # Where models shipped in parts are joined (default: ~/.cache/helpline15/models).
    model_cache_dir: str | None = None
    map_path: str = ""
    map_dir: str = "maps"
    recordings_dir: str = "recordings"
    # The camera registry (vision_feed's TOML format) that GET /cameras lists.
    cameras_path: str = str(CONFIG_DIR / "cameras.toml")
    data_dir: Path = Field(default=DEFAULT_DATA_DIR, alias="H15_DATA_DIR")
    timezone_display: str = "Asia/Karachi"
    # Outbound CAP 1.2 notifications of every alert (an SMS gateway's or DPO system's webhook).
    alert_webhook_url: str | None = None
    # A map tile server for the consoles, where a deployment has one; else roads are drawn
    # from our own graph.
    map_tile_url: str = ""
    # Assign the first recommended unit to every new P1 incident without waiting for a human.
    auto_dispatch_p1: bool = False
    # How far a handset's own time (a step's `at`, a fix's `ts`) may lie from the server's time
    # of receipt: ahead (clock skew) and behind (an offline queue); see dispatch/clock.py.
    handset_clock_skew_s: float = Field(default=30.0, ge=0, le=600)
    handset_max_delay_s: float = Field(default=900.0, gt=0, le=24 * 3600)

    demo_mode: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            TomlConfigSettingsSource(settings_cls),
        )

    @field_validator("database_url")
    @classmethod
    def _database_url_scheme(cls, value: str) -> str:
        if not value.startswith(("postgresql", "sqlite")):
            raise ValueError("must start with postgresql+psycopg:// or sqlite:///")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://", "memory://")):
            raise ValueError("must be redis://host:port/db (or memory:// for the embedded default)")
        return value

    @field_validator("audiosocket_bind")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, for example 127.0.0.1:9092")
        return value

    @model_validator(mode="after")
    def _under_home(self) -> Settings:
        """Anchor relative paths at `home`, never at the folder the command was started in."""
        home = self.home.expanduser().absolute()
        self.home = home
        if self.database_url.startswith("sqlite:///"):
            path = self.database_url.removeprefix("sqlite:///")
            if path and path != ":memory:" and not Path(path).is_absolute():
                self.database_url = f"sqlite:///{home / path}"
        for name in ("map_dir", "recordings_dir"):
            value = getattr(self, name)
            if value and not Path(value).expanduser().is_absolute():
                setattr(self, name, str(home / value))
        return self

    @property
    def is_embedded(self) -> bool:
        return self.redis_url.startswith("memory://")

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The token signing key; only the embedded demo (SQLite) may run on a generated one.

        The rule follows the database, not Redis: a PostgreSQL deployment holds real users and
        outlives the process, so a key made up per run would silently log everyone out at
        each restart and differ between replicas.
        """
        if self.secret_key:
            if len(self.secret_key) < 32:
                raise SettingsError("SECRET_KEY must be at least 32 characters long")
            return self.secret_key
        if self.is_embedded_database:
            return _ephemeral_key()
        raise SettingsError(
            "SECRET_KEY is not set: DATABASE_URL points at a real database, so set SECRET_KEY "
            "to a random string of 32+ characters (for example: "
            "python -c 'import secrets; print(secrets.token_urlsafe(48))'); only the embedded "
            "demo (SQLite) runs on a key generated per run"
        )


@lru_cache(maxsize=1)
def _ephemeral_key() -> str:
    return secrets.token_urlsafe(48)


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one message that names each variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{str(err['loc'][0]).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
