"""The HTML report in a real browser (headless Chromium): every section is there, no chart label overlaps
another, and the page loads nothing from the network.

The report is a real one: a perfkit.Run with stages, items run on two process workers (so the workers
timeline has two lanes), a histogram, a receipt and a cProfile capture of the run.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from perfkit.html import SECTIONS, write_html
from perfkit.parallel import Task, map_tasks
from perfkit.profiling import profile
from perfkit.reports import load_report

import perfkit

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian chromium is not installed at /usr/bin/chromium (.ci/run installs it)",
)

# Every pair of <text> boxes inside one SVG; a pair overlapping by more than 1 px in both directions fails.
_OVERLAPS = """() => {
  const out = [];
  document.querySelectorAll('svg').forEach((svg, s) => {
    const boxes = [...svg.querySelectorAll('text')]
      .filter(t => t.textContent.trim())
      .map(t => ({text: t.textContent.trim(), r: t.getBoundingClientRect()}));
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i].r, b = boxes[j].r;
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) out.push([s, boxes[i].text, boxes[j].text]);
    }
  });
  return out;
}"""


def spin(seconds: float) -> float:
    t0 = time.process_time()
    while time.process_time() - t0 < seconds:
        pass
    return seconds


def _real_report(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    pstats_path = tmp_path / "run.pstats"
    config = {"command": "s1", "profile": str(pstats_path)}
    with (
        profile(pstats_path, top_path=tmp_path / "run.top.json"),
        perfkit.Run("seg1b", out, config) as run,
    ):
        with run.stage("plan"):
            spin(0.02)
        with run.stage("tiles"):
            tasks = [Task(f"C{i:02d}", 0.01 + 0.004 * i) for i in range(12)]
            for r in map_tasks(spin, tasks, executor="processes", workers=2).values():
                run.add_item(r.key, r.elapsed_s, r.worker, tiles=int(r.value * 1000))
        run.histogram("rows_per_file", [3, 5, 5, 8, 13, 21, 34, 55])
        run.metric("tiles_per_s", 123456.7)
        run.receipt("tiles", "blake2b-256/v1:" + "ab" * 32)
    return out / "run_report.json"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_report_in_chromium_has_every_section_and_no_overlapping_labels(tmp_path, browser):
    report_path = _real_report(tmp_path)
    page_path = write_html(load_report(report_path), tmp_path / "report.html", report_path=report_path)
    requests: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.on("request", lambda req: requests.append(req.url))
    page.goto(page_path.as_uri())
    ids = page.eval_on_selector_all("section", "els => els.map(e => e.id)")
    headings = page.eval_on_selector_all("section > h2", "els => els.map(e => e.textContent)")
    svgs = page.eval_on_selector_all("svg", "els => els.length")
    lanes = page.eval_on_selector("#workers svg", "svg => svg.textContent")
    icicle = page.eval_on_selector("#profile svg", "svg => svg.textContent")
    overlaps = page.evaluate(_OVERLAPS)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    page.close()
    assert ids == list(SECTIONS) and all(h.strip() for h in headings)
    assert svgs >= 6  # stages, workers timeline, item times, memory, histogram, icicle
    assert sum(f"pid-{pid}" in lanes for pid in _worker_pids(report_path)) == 2  # one lane per worker
    # labelled boxes of the profiled run: the parent waits on the pool's results (parallel._completed's queue)
    assert any(label in icicle for label in ("SimpleQueue", "threading.py", "spin"))
    assert overlaps == []
    assert width <= 1200  # nothing wider than the window
    assert requests == [page_path.as_uri()]  # the page fetched nothing else


def test_the_overlap_check_sees_overlapping_labels(browser):
    page = browser.new_page()
    page.set_content(
        '<svg width="300" height="100"><text x="10" y="50">median 12 ms</text>'
        '<text x="40" y="52">p90 15 ms</text><text x="10" y="90">apart</text></svg>'
    )
    assert page.evaluate(_OVERLAPS) == [[0, "median 12 ms", "p90 15 ms"]]
    page.close()


def _worker_pids(report_path: Path) -> set[int]:
    import json

    items = json.loads(report_path.read_text())["items"]
    return {int(v["worker"].removeprefix("pid-")) for v in items.values()} - {os.getpid()}
