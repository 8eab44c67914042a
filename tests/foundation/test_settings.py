"""A wrong or missing setting stops start-up with a message naming it."""

from __future__ import annotations

import pytest

from dispatch.settings import SettingsError, load_settings


def test_defaults_come_from_config_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("AUDIOSOCKET_BIND", raising=False)
    settings = load_settings()
    assert settings.audiosocket_bind == "127.0.0.1:9092"
    assert settings.database_url.startswith("sqlite")


def test_environment_overrides_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_PORT", "6038")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    settings = load_settings()
    assert settings.ami_port == 6038
    assert settings.redis_url.endswith("/3")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://nope"),
        ("REDIS_URL", "http://localhost"),
        ("AMI_PORT", "seventy"),
        ("AUDIOSOCKET_BIND", "9092"),
        ("ASR_ENGINE", "google"),
    ],
)
def test_wrong_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str,
                                        value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_production_without_secret_key_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = load_settings(redis_url="redis://127.0.0.1:6379/0",
                             database_url="postgresql+psycopg://127.0.0.1/test")
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        settings.signing_key()


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(secret_key="short").signing_key()


def test_embedded_default_runs_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert len(load_settings().signing_key()) >= 32


def test_postgresql_needs_a_secret_key_even_with_the_in_process_redis(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule follows the database: real users live in PostgreSQL, whatever Redis is."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = load_settings(redis_url="memory://",
                             database_url="postgresql+psycopg://127.0.0.1/test")
    with pytest.raises(SettingsError, match="SECRET_KEY is not set: DATABASE_URL"):
        settings.signing_key()


def test_the_sqlite_demo_may_generate_a_key_whatever_redis_is(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = load_settings(redis_url="redis://127.0.0.1:6379/0",
                             database_url="sqlite:///var/demo.db")
    assert len(settings.signing_key()) >= 32


def test_written_paths_are_under_h15_home_whatever_the_current_folder(
        monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("DATABASE_URL", "MAP_DIR", "RECORDINGS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("H15_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    home = tmp_path / "home"
    assert settings.home == home
    assert settings.database_url == f"sqlite:///{home / 'helpline15.db'}"
    assert settings.map_dir == str(home / "maps")
    assert settings.recordings_dir == str(home / "recordings")
    # absolute paths and real databases are left as given
    kept = load_settings(database_url="postgresql+psycopg://db/h15", map_dir="/srv/maps")
    assert kept.database_url == "postgresql+psycopg://db/h15" and kept.map_dir == "/srv/maps"
