"""Device characterization against its frozen goldens, and the golden check itself."""
from __future__ import annotations

import json

import pytest

from pdk import characterize as devices
from pdk.datasheet import Datasheet, check, load_golden
from tests.conftest import run_bmru


@pytest.fixture(scope="module")
def sheet() -> Datasheet:
    return devices.characterize(workers=2, progress=False)


@pytest.mark.ngspice
def test_devices_sit_inside_their_golden_bands(sheet):
    assert check(sheet, load_golden(devices.GOLDEN)) == []


@pytest.mark.ngspice
def test_device_numbers_make_physical_sense(sheet):
    vth, swing = sheet.values["vth"], sheet.values["subthreshold_swing"]
    assert 0.45 < vth["nfet_01v8 L=1"] < 0.7 and 0.85 < vth["pfet_01v8 L=1"] < 1.1
    assert vth["nfet_01v8_lvt L=1"] < vth["nfet_01v8 L=1"] < vth["pfet_01v8_hvt L=1"] + 0.5
    assert vth["pfet_01v8_hvt L=1"] > vth["pfet_01v8 L=1"]
    assert all(60 < s < 110 for s in swing.values())  # kT/q·ln10 = 60 mV/dec is the floor
    ioff = sheet.values["ioff"]
    assert ioff["nfet_01v8 L=1 T=85"] > 5 * ioff["nfet_01v8 L=1 T=27"]
    # §6: ratios by unit devices hold, ratios by width do not (PMOS, weak inversion)
    assert max(abs(v) for k, v in sheet.values["mirror_error_units"].items() if k.startswith("pfet")) < 1.0
    assert abs(sheet.values["mirror_error_width"]["pfet r=8"]) > 20


@pytest.mark.ngspice
def test_a_perturbed_value_leaves_its_band(sheet):
    golden = load_golden(devices.GOLDEN)
    sheet.values["vth"]["nfet_01v8 L=1"] += 0.05
    try:
        violations = check(sheet, golden)
    finally:
        sheet.values["vth"]["nfet_01v8 L=1"] -= 0.05
    assert [(v.spec, v.condition) for v in violations] == [("vth", "nfet_01v8 L=1")]
    del sheet.values["ioff"]["pfet_01v8 L=2 T=85"]
    try:
        missing = check(sheet, golden)
    finally:
        sheet.values["ioff"]["pfet_01v8 L=2 T=85"] = golden["specs"]["ioff"]["bands"]["pfet_01v8 L=2 T=85"]["typ"]
    assert [str(v) for v in missing] == ["devices: ioff [pfet_01v8 L=2 T=85]: not measured"]


@pytest.mark.ngspice
def test_characterize_cli_writes_json_and_plots(tmp_path):
    out = tmp_path / "char"
    result = run_bmru("characterize", "devices", "-o", out)
    assert result.returncode == 0, result.stderr
    payload = json.loads((out / "characterization.json").read_text())
    assert payload["passed"] and payload["violations"] == []
    assert len(payload["cells"]["devices"]["specs"]["vth"]["values"]) == len(devices.DEVICES) * len(devices.LENGTHS)
    assert (out / "devices_idvg.png").stat().st_size > 10_000


def test_characterize_cli_rejects_unknown_cell(tmp_path):
    result = run_bmru("characterize", "nosuchcell", "-o", tmp_path / "x")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nosuchcell" in result.stderr
    assert not (tmp_path / "x").exists()
