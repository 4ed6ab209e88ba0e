import pytest

from qualcode.config import load_settings
from qualcode.errors import ConfigError
from qualcode.project import init_project


def test_precedence_defaults_file_env_flags(tmp_path):
    p = init_project(tmp_path / "p")
    (p.path / "qualcode.toml").write_text('[coding]\nmode = "argmax"\nthreshold = 0.3\n')
    s = load_settings(p.path, env={})
    assert s.get("coding", "mode") == "argmax" and s.get("coding", "threshold") == 0.3
    s = load_settings(p.path, env={"QUALCODE_CODING_MODE": "scores", "QUALCODE_CODING__THRESHOLD": "0.25"})
    assert s.get("coding", "mode") == "scores" and s.get("coding", "threshold") == 0.25
    s = load_settings(p.path, env={"QUALCODE_CODING_MODE": "scores"}, overrides={"coding": {"mode": "multi"}})
    assert s.get("coding", "mode") == "multi"


def test_bad_toml_names_file(tmp_path):
    (tmp_path / "qualcode.toml").write_text("[coding\nmode=")
    with pytest.raises(ConfigError, match="qualcode.toml"):
        load_settings(tmp_path, env={})


def test_bad_values_named(tmp_path):
    with pytest.raises(ConfigError, match="classification"):
        load_settings(tmp_path, env={"QUALCODE_CLASSIFICATION": "secret"})
    with pytest.raises(ConfigError, match="mode"):
        load_settings(tmp_path, env={}, overrides={"coding": {"mode": "best"}})


def test_written_default_config_parses(tmp_path):
    p = init_project(tmp_path / "p", name="My study")
    s = load_settings(p.path, env={})
    assert s.get("project", "name") == "My study" and s.classification == "confidential"
