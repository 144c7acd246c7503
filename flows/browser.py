"""Headless Chromium (Debian's `chromium`) for what a user sees: PNG screenshots of the
schematics, and a check that pages show every image whole.

`inspect` loads each page into an iframe of a small local harness page, at a fixed
width, and reports what a reader would miss: an image that did not load (a broken or
missing reference), an SVG whose drawing reaches past its own width or height (text cut
off, measured with the browser's own fonts), a page wider than the window (content cut off
at the page width). Every run uses a fresh profile directory and no network.

`python -m flows.browser SCHEMATICS OUT` writes the README's screenshots of a build's
BMRU cell, largest dense block and top level into OUT.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--allow-file-access-from-files")
WIDTH = 1280  # px: the window a report is read in

_CHECK = r"""
async function check(url, width) {
  const frame = document.createElement('iframe');
  frame.style.width = width + 'px'; frame.style.height = '900px'; frame.style.border = '0';
  document.body.appendChild(frame);
  await new Promise(done => { frame.onload = done; frame.onerror = done; frame.src = url; });
  const out = {url: url, problems: []};
  const doc = frame.contentDocument;
  if (!doc || !doc.documentElement) { out.problems.push('page did not load'); return out; }
  const root = doc.documentElement;
  if (root.tagName.toLowerCase() === 'svg') {
    const w = root.width.baseVal.value, h = root.height.baseVal.value, b = root.getBBox();
    out.size = [w, h];
    if (!(w > 0 && h > 0)) out.problems.push('svg has no size');
    if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > w + 0.5 || b.y + b.height > h + 0.5)
      out.problems.push(`drawing ${b.x.toFixed(1)},${b.y.toFixed(1)} ${b.width.toFixed(1)}x${b.height.toFixed(1)} ` +
                        `outside the sheet ${w}x${h}`);
  } else {
    const images = Array.from(doc.images);
    out.images = images.length;
    images.forEach((img, k) => {
      if (!img.complete || img.naturalWidth === 0) out.problems.push(`image ${k} (${img.alt}) did not load`);
    });
    doc.querySelectorAll('[src],[href]').forEach(el => {
      const ref = el.getAttribute('src') || el.getAttribute('href');
      if (ref && !/^(data:|#|https?:)/.test(ref) && el.tagName.toLowerCase() !== 'img')
        out.problems.push(`reference ${ref} is not embedded`);
    });
    const page = root.clientWidth;
    if (root.scrollWidth > page + 1) out.problems.push(`content ${root.scrollWidth} px wide in a ${page} px page`);
    doc.querySelectorAll('body *').forEach(el => {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > page + 1 && out.problems.length < 20)
        out.problems.push(`${el.tagName.toLowerCase()} reaches ${Math.round(r.right)} px of ${page}`);
    });
  }
  frame.remove();
  return out;
}
(async () => {
  const results = [];
  for (const url of PAGES) {
    try { results.push(await check(url, WIDTH)); }
    catch (e) { results.push({url: url, problems: ['check failed: ' + e]}); }
  }
  document.getElementById('result').textContent = JSON.stringify(results);
})();
"""


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess:
    exe = chromium()
    if exe is None:
        raise RuntimeError("chromium is not installed (make install adds Debian's chromium)")
    with tempfile.TemporaryDirectory(prefix="bmru-chromium-") as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def inspect(pages: list[Path], width: int = WIDTH, timeout: float = 300) -> list[dict]:
    """Each page's problems as the browser sees them (see the module docstring)."""
    urls = [p.resolve().as_uri() for p in pages]
    with tempfile.TemporaryDirectory(prefix="bmru-inspect-") as tmp:
        harness = Path(tmp) / "inspect.html"
        script = _CHECK.replace("PAGES", json.dumps(urls)).replace("WIDTH", str(width))
        harness.write_text(f"<!doctype html><html><body><pre id='result'></pre><script>{script}</script></body></html>")
        result = _run(["--virtual-time-budget=60000", "--dump-dom", harness.as_uri()], timeout)
    found = re.search(r'<pre id="result">(.+?)</pre>', result.stdout, re.S)
    if not found:
        raise RuntimeError(f"chromium gave no result (exit {result.returncode}): {result.stderr[-500:]}")
    import html

    return json.loads(html.unescape(found.group(1)))


def svg_size(svg: Path) -> tuple[int, int]:
    match = re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"', svg.read_text()[:2000])
    return int(match.group(1)), int(match.group(2))


def screenshot(page: Path, png: Path, size: tuple[int, int], timeout: float = 120) -> None:
    """A PNG of the page at 100 % zoom in a window of `size` (width, height) pixels."""
    _run([f"--window-size={size[0]},{size[1]}", f"--screenshot={png.resolve()}", page.resolve().as_uri()], timeout)
    if not png.is_file():
        raise RuntimeError(f"chromium wrote no screenshot of {page}")


def readme_shots(schematics: Path, out: Path) -> list[Path]:
    """Screenshots of the first BMRU cell, the largest dense block and the top level."""
    svgs = sorted(schematics.glob("*.svg"))
    bmru = next(p for p in svgs if "_bmru" in p.stem)
    dense = max((p for p in svgs if p.stem.endswith("_dense")), key=lambda p: p.stat().st_size)
    top = min(svgs, key=lambda p: len(p.stem))
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, svg in (("bmru_cell", bmru), ("dense_block", dense), ("top_level", top)):
        png = out / f"schematic_{kind}.png"
        screenshot(svg, png, svg_size(svg))
        written.append(png)
    return written


if __name__ == "__main__":
    for path in readme_shots(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
