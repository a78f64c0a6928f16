"""Settings: defaults, TOML, ADM_* overrides, and a clear message for every wrong key."""

from pathlib import Path

import pytest

from kiosk.config import ConfigError, load


def test_defaults_need_a_central_url_outside_simulation() -> None:
    with pytest.raises(ConfigError) as exc:
        load(env={})
    assert "'central.url' is required" in str(exc.value)
    assert load(env={}, overrides={"sim.mode": "inprocess"}).kiosk.language == "id"


def test_toml_then_env_override(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[kiosk]\nid = "ADM-3201-07"\n[central]\nurl = "https://central.example"\n'
                 '[devices.card_printer]\nqueue = "evolis"\n')
    cfg = load(f, env={"ADM_DEVICES__CARD_PRINTER__QUEUE": "fargo", "ADM_PINS__MAX_FAILURES_PER_NIK": "5"})
    assert cfg.kiosk.id == "ADM-3201-07"
    assert cfg.devices.card_printer.queue == "fargo"
    assert cfg.pins.max_failures_per_nik == 5


def test_every_problem_is_reported_with_its_dotted_name(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[kiosk]\nlanguag = "id"\n[devices.card_printr]\nqueue = "x"\n[pins]\nmax_failures_per_nik = "many"\n'
                 '[sim]\nmode = "inprocess"\n')
    with pytest.raises(ConfigError) as exc:
        load(f, env={})
    problems = exc.value.problems
    assert any("unknown key 'kiosk.languag' (did you mean 'kiosk.language'?)" in p for p in problems)
    assert any("devices.card_printr" in p and "card_printer" in p for p in problems)
    assert any("'pins.max_failures_per_nik': expected int" in p for p in problems)


def test_bad_values_and_transports(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load(env={"ADM_SIM__MODE": "inprocess", "ADM_DEVICES__CAMERA__TRANSPORT": "webcam",
                  "ADM_SESSION__WARN_BEFORE_S": "500"})
    text = str(exc.value)
    assert "devices.camera.transport" in text and "opencv" in text
    assert "warn_before_s" in text


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", env={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[kiosk\nid=")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad, env={})


def test_redacted_hides_secrets() -> None:
    cfg = load(env={"ADM_SIM__MODE": "inprocess", "ADM_CENTRAL__KIOSK_KEY": "s3cret",
                    "ADM_DEVICES__CARD_READER__SAM_KEY": "00112233"})
    red = cfg.redacted()
    assert red["central"]["kiosk_key"] == "***"
    assert red["devices"]["card_reader"]["sam_key"] == "***"
    assert "s3cret" not in repr(red)


def test_a_camera_source_is_a_setting(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[sim]\nmode = "inprocess"\n[devices.camera]\ntransport = "opencv"\nsource = "http://10.0.0.9/stream.mjpg"\n')
    assert load(f, env={}).devices.camera.source == "http://10.0.0.9/stream.mjpg"
    with pytest.raises(ConfigError, match="unknown key 'source'"):
        f.write_text('source = "x"\n[sim]\nmode = "inprocess"\n')
        load(f, env={})
