"""Settings come from DUNES_* variables (``__`` nests) and the TOML file named by DUNES_CONFIG."""

from __future__ import annotations

from pathlib import Path

import pytest

from dunes.config import get_settings
from dunes.errors import ConfigError


def test_defaults(tmp_path: Path) -> None:
    settings = get_settings()
    assert settings.quantum.statevector_json_max_qubits == 16
    assert settings.data_dir == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'beluga.sqlite3'}"
    assert settings.artifacts_dir == tmp_path / "data" / "artifacts"


def test_nested_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUNES_QUANTUM__MAX_QUBITS", "20")
    monkeypatch.setenv("DUNES_QUANTUM__DEFAULT_DEVICE", "cpu")
    monkeypatch.setenv("DUNES_EXECUTOR__KIND", "celery")
    monkeypatch.setenv("DUNES_AGENTS__PLACEMENT", '{"planner": "cuda:1"}')
    settings = get_settings()
    assert settings.quantum.max_qubits == 20
    assert settings.quantum.default_device == "cpu"
    assert settings.executor.kind == "celery"
    assert settings.agents.placement == {"planner": "cuda:1"}


def test_toml_file_and_environment_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "dunes.toml"
    config.write_text(
        '[quantum]\nmax_qubits = 24\ntop_amplitudes = 8\n\n[store]\nurl = "sqlite:///x.db"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("DUNES_CONFIG", str(config))
    settings = get_settings()
    assert settings.quantum.max_qubits == 24 and settings.quantum.top_amplitudes == 8
    assert settings.database_url == "sqlite:///x.db"
    monkeypatch.setenv("DUNES_QUANTUM__MAX_QUBITS", "12")
    assert get_settings().quantum.max_qubits == 12  # the environment wins over the file
    assert get_settings(quantum={"max_qubits": 5}).quantum.max_qubits == 5


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        (
            "DUNES_QUANTUM__MAX_QUBITS",
            "99999",
            "quantum.max_qubits (env DUNES_QUANTUM__MAX_QUBITS)",
        ),
        ("DUNES_QUANTUM__MAX_QUBITS", "many", "valid integer"),
        ("DUNES_QUANTUM__DEFAULT_DEVICE", "tpu", "'auto', 'cpu' or 'gpu'"),
        ("DUNES_AGENTS__PLACEMENT", "not json", "settings could not be read"),
    ],
)
def test_bad_environment_value_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        get_settings()
    assert fragment in str(info.value)


def test_bad_toml_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[quantum\nmax_qubits = 3\n", encoding="utf-8")
    monkeypatch.setenv("DUNES_CONFIG", str(config))
    with pytest.raises(ConfigError, match=r"broken\.toml is not valid TOML"):
        get_settings()
    config.write_text("[quantum]\nno_such_key = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"quantum\.no_such_key"):
        get_settings()
