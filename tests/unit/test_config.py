"""Settings: defaults, TOML, ADM_* overrides, and a clear message for every wrong key."""

from pathlib import Path
from typing import Any

import pytest

from kiosk.config import ConfigError, check_secrets, load
from tests.conftest import REAL_DEVICES_TOML


def test_defaults_need_a_central_url_outside_simulation() -> None:
    with pytest.raises(ConfigError) as exc:
        load(env={})
    assert "'central.url' is required" in str(exc.value)
    assert load(env={}, overrides={"sim.mode": "inprocess"}).kiosk.language == "id"


def test_toml_then_env_override(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[kiosk]\nid = "ADM-3201-07"\n[central]\nurl = "https://central.example"\n'
                 + REAL_DEVICES_TOML.replace('transport = "cups"\n', 'transport = "cups"\nqueue = "evolis"\n', 1))
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


# -- Defect 13: a [devices.X] section merges over that device's defaults ------------------------------

def test_one_key_in_a_device_section_keeps_the_devices_other_defaults(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[sim]\nmode = "inprocess"\n[devices.card_printer]\nqueue = "evolis"\n'
                 '[devices.receipt_printer]\nport = "/dev/ttyUSB0"\n[devices.card_reader]\nreader = "ACS"\n')
    cfg = load(f, env={"ADM_DEVICES__CAMERA__SOURCE": "0"})
    assert (cfg.devices.card_printer.queue, cfg.devices.card_printer.profile) == ("evolis", "evolis-primacy2")
    assert cfg.devices.card_printer.required
    assert not cfg.devices.receipt_printer.required and cfg.devices.receipt_printer.profile == "thermal-80mm"
    assert not cfg.devices.card_reader.required and not cfg.devices.camera.required


def test_a_kiosk_with_one_device_key_set_starts_and_serves(make_kiosk: Any) -> None:
    k = make_kiosk(**{"devices.receipt_printer.port": "/dev/ttyUSB0", "devices.card_reader.reader": "ACS"})
    k.monitor.refresh()
    assert k.availability().available  # the receipt printer and reader stay optional; the printers keep their queues
    assert set(k.sim.cups.queues) == {"card", "a4"}


def test_a_printer_without_profile_is_a_config_report_not_an_assertion(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[sim]\nmode = "inprocess"\n[devices.card_printer]\nprofile = ""\n[devices.document_printer]\n'
                 'profile = "thermal-80mm"\n')
    with pytest.raises(ConfigError) as exc:
        load(f, env={})
    assert "'devices.card_printer.profile': a printer profile is required" in str(exc.value)
    assert "'devices.document_printer.profile': 'thermal-80mm' is a receipt printer, expected a document printer" \
        in str(exc.value)


# -- Defect 3: outside simulation every enabled device needs a real transport -----------------------------

@pytest.mark.parametrize("transport", ["", "sim"])
def test_outside_simulation_a_device_without_a_real_transport_is_refused(tmp_path: Path, transport: str) -> None:
    f = tmp_path / "k.toml"
    devices = REAL_DEVICES_TOML.replace('[devices.document_printer]\ntransport = "cups"\n',
                                        f'[devices.document_printer]\ntransport = "{transport}"\n')
    f.write_text('[central]\nurl = "https://central.example"\n' + devices)
    with pytest.raises(ConfigError) as exc:
        load(f, env={})
    (problem,) = exc.value.problems
    assert problem.startswith("'devices.document_printer.transport': a real transport (cups) is required outside simulation")
    f.write_text('[central]\nurl = "https://central.example"\n' + devices.replace(
        f'transport = "{transport}"\n', f'transport = "{transport}"\nenabled = false\n'))
    assert not load(f, env={}).devices.document_printer.enabled  # a disabled device needs none


# -- Defect 15: wrong values give the config report ---------------------------------------------------------

def test_unknown_profile_and_port_out_of_range_are_reported(tmp_path: Path) -> None:
    f = tmp_path / "k.toml"
    f.write_text('[sim]\nmode = "inprocess"\n[ui]\nport = 99999\n[devices.card_printer]\nprofile = "evolis-primacy9"\n')
    with pytest.raises(ConfigError) as exc:
        load(f, env={})
    text = str(exc.value)
    assert "'ui.port' must be between 1 and 65535, got 99999" in text
    assert "'devices.card_printer.profile': no printer profile named 'evolis-primacy9'" in text


def test_missing_secret_file_and_non_hex_sam_key_are_reported(tmp_path: Path) -> None:
    cfg = load(env={"ADM_SIM__MODE": "inprocess", "ADM_CENTRAL__KIOSK_KEY_FILE": str(tmp_path / "nope.key"),
                    "ADM_DEVICES__CARD_READER__SAM_KEY": "not-hex-s3cret"})
    with pytest.raises(ConfigError) as exc:
        check_secrets(cfg)
    text = str(exc.value)
    assert f"'central.kiosk_key_file': cannot read '{tmp_path / 'nope.key'}': No such file or directory" in text
    assert "'devices.card_reader.sam_key': expected the SAM key as hex digits" in text
    assert "s3cret" not in text
