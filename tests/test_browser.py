"""What a user opens, in a real browser (headless Chromium): the report and every schematic
of both examples load whole: no missing image, no broken reference, nothing cut off at the
page width or outside an SVG's own sheet. The checks are shown to fail on a page built to
break each of them."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from flows.browser import inspect
from tests.conftest import run_bmru
from tests.test_cli_model import GOOD_SEQUENCE

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytestmark = [pytest.mark.browser, pytest.mark.klayout]


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> list[Path]:
    """flipflop compiled, simulated and reported; kws_d4 (M = 8) compiled without checks and
    reported (its transient takes minutes)."""
    root = tmp_path_factory.mktemp("browser")
    flipflop, kws = root / "flipflop", root / "kws_d4"
    for args in (("compile", EXAMPLES / "flipflop.yaml", "-o", flipflop, "--no-check"),
                 ("simulate", EXAMPLES / "flipflop.yaml", "--inputs", GOOD_SEQUENCE, "-o",
                  flipflop / "simulations" / "mixed"),
                 ("report", flipflop),
                 ("compile", EXAMPLES / "kws_d4.yaml", "-o", kws, "--no-check", "--diode-units", "8"),
                 ("report", kws)):
        result = run_bmru(*args)
        assert result.returncode == 0, (args, result.stderr)
    return [flipflop, kws]


@pytest.mark.ngspice
def test_reports_and_schematics_render_whole(builds):
    pages = [b / "report.html" for b in builds] + [svg for b in builds for svg in sorted((b / "schematics").glob("*.svg"))]
    results = inspect(pages)
    assert [r["url"] for r in results] == [p.resolve().as_uri() for p in pages]
    assert {r["url"]: r["problems"] for r in results if r["problems"]} == {}
    reports = {r["url"]: r for r in results if r["url"].endswith("report.html")}
    # flipflop: unit current, mapping, trace, power and 4 layout views; kws_d4 without a
    # simulation: unit current, mapping and 4 layout views
    assert [reports[(b / "report.html").resolve().as_uri()]["images"] for b in builds] == [8, 6]
    assert all(r["size"][0] > 0 for r in results if "size" in r)


def test_the_checks_fail_on_a_broken_page(tmp_path):
    png = base64.b64encode(b"not a png").decode()
    page = tmp_path / "broken.html"
    page.write_text(f"<!doctype html><html><body><img alt='bad' src='data:image/png;base64,{png}'>"
                    f"<img alt='gone' src='missing.png'><pre>{'a_long_unbreakable_line_' * 100}</pre>"
                    "</body></html>")
    svg = tmp_path / "cut.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40">'
                   '<text x="10" y="20" font-size="14">a label longer than its sheet</text></svg>')
    whole = tmp_path / "whole.svg"
    whole.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">'
                     '<text x="10" y="20" font-size="14">fits</text></svg>')
    broken, cut, fine = inspect([page, svg, whole])
    assert any("image 0 (bad) did not load" in p for p in broken["problems"])
    assert any("image 1 (gone) did not load" in p for p in broken["problems"])
    assert any("px wide in a" in p for p in broken["problems"])
    assert any("outside the sheet 60x40" in p for p in cut["problems"])
    assert fine["problems"] == []
