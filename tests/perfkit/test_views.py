"""perfkit show: terminal tables (rich) and the self-contained HTML page."""

from __future__ import annotations

import io
import itertools
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from perfkit.html import SECTIONS, item_time_bins, render_html
from perfkit.views import fmt_bytes, fmt_seconds, render_report, sparkline
from rich.console import Console

import perfkit
from perfkit import charts

from ._cli_helpers import (
    REPORT_A,
    REPORT_FAILED,
    REPORT_SCHEMA2,
    REPORT_TRUNCATED,
    invoke,
    load,
    one_error_line,
    write,
)


def _render(report: dict) -> str:
    buf = io.StringIO()
    render_report(report, Console(file=buf, width=160, color_system=None))
    return buf.getvalue()


def test_show_prints_every_section():
    result = invoke("show", REPORT_A)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for title in (
        "stages",
        "top 10 items",
        "item times",
        "counters",
        "results",
        "histograms",
        "metrics",
        "receipts",
    ):
        assert title in out
    report = load(REPORT_A)
    # each of the ten slowest items, slowest first, and not the two fastest
    positions = [out.index(f" {t['key']} ") for t in report["top_items"]]
    assert positions == sorted(positions)
    assert " MCO " not in out and " LUX " not in out
    for r in report["receipts"].values():
        assert r["digest"] in out
    assert "index" in out and "16.90 s" in out and "31.20 s" in out  # stage wall and CPU
    assert "700.0 MiB" in out  # peak RSS


def test_show_failed_report_shows_status_and_error():
    out = _render(load(REPORT_FAILED))
    assert "failed" in out
    assert "Seg1bError: country 'XXX' has no geometry" in out


def test_show_real_run_report(tmp_path):
    with perfkit.Run("mbp10", tmp_path, config={"date": "2024-01-02"}) as run:
        with run.stage("bronze"):
            values = np.arange(100)
        for day in ("2024-01-02", "2024-01-03"):
            with run.item(day, bars=0) as item:
                item["bars"] += 4680
        run.histogram("spread_ticks", values % 7)
        run.receipt("bars", perfkit.digest_array(values))
    result = invoke("show", tmp_path)  # the run's directory
    assert result.exit_code == 0, result.output
    assert "mbp10" in result.stdout and "bronze" in result.stdout and "2024-01-03" in result.stdout
    assert "spread_ticks" in result.stdout and perfkit.digest_array(values) in result.stdout


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (REPORT_SCHEMA2, "has schema_version 2; this perfkit reads schema_version 1"),
        (REPORT_TRUNCATED, "is not valid JSON (line 2"),
    ],
)
def test_show_bad_report_one_line_exit_2(path, message):
    result = invoke("show", path)
    assert result.exit_code == 2
    assert message in one_error_line(result)
    assert result.stdout == ""


def test_show_missing_report_and_empty_dir(tmp_path):
    result = invoke("show", tmp_path / "nope.json")
    assert result.exit_code == 2
    assert one_error_line(result) == f"error: report not found: {tmp_path / 'nope.json'}"
    result = invoke("show", tmp_path)
    assert result.exit_code == 2
    assert "no run_report.json in directory" in one_error_line(result)


def test_show_not_a_report(tmp_path):
    for text, message in (("[1, 2]", "not a JSON object"), ('{"a": 1}', "no schema_version")):
        path = tmp_path / "r.json"
        path.write_text(text)
        result = invoke("show", path)
        assert result.exit_code == 2 and message in one_error_line(result)
    bad = load(REPORT_A)
    bad["stages"] = [1, 2]
    result = invoke("show", write(tmp_path / "r.json", bad))
    assert result.exit_code == 2 and "section 'stages' should be an object" in one_error_line(result)


# --- HTML --------------------------------------------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}
SVG_LEAF = {"rect", "line", "path", "circle"}


class _Checker(HTMLParser):
    """Checks tags are balanced and collects what the page references."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.refs += [v for k, v in attrs if k in ("src", "href") and v]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def _check(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    return checker


def test_html_page_is_self_contained_and_well_formed():
    report = load(REPORT_A)
    page = render_html(report)
    checker = _check(page)
    assert "script" not in checker.tags
    assert checker.refs == []  # no external CSS, JS, images or fonts
    # the only URLs are XML namespace identifiers, which are never fetched
    assert set(re.findall(r"https?://[^\s\"'<]+", page)) <= {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert checker.tags.count("svg") >= 3 + len(report["histograms"])  # stages, items, memory, histograms
    # every section, in order, summary first
    positions = [page.index(f'<section id="{key}">') for key in SECTIONS]
    assert positions == sorted(positions) and SECTIONS[0] == "summary"


def test_html_holds_the_report_values():
    report = load(REPORT_A)
    page = render_html(report)
    summary = page.split('<section id="summary">')[1].split("</section>")[0]
    assert f"<b>{fmt_seconds(report['wall_s'])}</b>" in summary
    for r in report["receipts"].values():
        assert r["digest"] in summary  # receipts in the summary, before any chart
    stages = page.split('<section id="stages">')[1].split("</section>")[0]
    for name, stage in report["stages"].items():
        assert f"<td>{name}</td>" in stages
        assert f'<td class="num">{fmt_seconds(stage["wall_s"])}</td>' in stages
        assert f'<td class="num">{fmt_seconds(stage["cpu_s"])}</td>' in stages
    items = page.split('<section id="items">')[1].split("</section>")[0]
    slowest = sorted(report["items"].items(), key=lambda kv: -kv[1]["elapsed_s"])[:10]
    positions = [items.index(f"<td>{key}</td>") for key, _ in slowest]
    assert positions == sorted(positions)  # slowest first
    q = report["item_time_quantiles"]
    assert (
        f"median {charts.seconds_label(q['median_s'])}" in items
        and f"p90 {charts.seconds_label(q['p90_s'])}" in items
    )
    # text in the charts stays text (searchable, measurable in a browser), with round tick labels
    assert "<text" in items and "<path" in items


def test_html_charts_are_the_same_for_the_same_report():
    report = load(REPORT_A)
    assert render_html(report) == render_html(report)


def test_html_escapes_report_text():
    report = load(REPORT_A)
    report["config"]["note"] = "<script>alert(1)</script>"
    report["error"] = "bad & <b>worse</b>"
    page = render_html(report)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page and "bad &amp; &lt;b&gt;worse&lt;/b&gt;" in page
    _check(page)


def test_html_for_failed_and_empty_reports():
    page = render_html(load(REPORT_FAILED))
    _check(page)
    assert "failed" in page and "no items recorded" in page


def test_show_html_cli_forms(tmp_path):
    report = write(tmp_path / "run_report.json", load(REPORT_A))
    out = tmp_path / "page.html"
    result = invoke("show", report, "--html", out)
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    # the form: `perfkit show --html REPORT` writes <report>.html beside the report
    result = invoke("show", "--html", report)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run_report.html").read_text() == out.read_text()
    # the report's folder gives the same default page (it was refused as "inside the input folder")
    result = invoke("show", tmp_path, "--html", "--force")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run_report.html").read_text() == out.read_text()
    # a bad report writes nothing
    result = invoke("show", REPORT_SCHEMA2, "--html", tmp_path / "bad.html")
    assert result.exit_code == 2 and not (tmp_path / "bad.html").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_item_time_bins_count_everything():
    edges, counts, log_bins = item_time_bins([0.0, 0.5, 1.0, 1.0, 2.0], bins=4)
    assert sum(counts) == 5 and len(edges) == len(counts) + 1 and edges[-1] == 2.0 and not log_bins
    assert item_time_bins([]) == ([], [], False)


def test_item_time_bins_go_logarithmic_over_decades():
    times = [0.001, 0.002, 0.01, 0.05, 0.3, 2.0, 40.0, 0.0]
    edges, counts, log_bins = item_time_bins(times, bins=5)
    assert log_bins and sum(counts) == len(times)
    assert edges[0] == 0.001 and edges[-1] == 40.0
    ratios = [b / a for a, b in itertools.pairwise(edges)]
    assert max(ratios) / min(ratios) < 1.0001  # equal ratios: log-spaced
    page = render_html({"schema_version": 1, "pipeline": "seg1b", "status": "ok",
                        "items": {str(i): {"elapsed_s": t} for i, t in enumerate(times)}})  # fmt: skip
    assert "log-spaced bins" in page
    _check(page)


def test_formatters():
    assert fmt_seconds(0.0000123) == "12 µs"
    assert fmt_seconds(0.0451) == "45.1 ms"
    assert fmt_seconds(3.1) == "3.10 s"
    assert fmt_seconds(125) == "2 m 05 s"
    assert fmt_bytes(1536) == "1.5 KiB"
    assert sparkline([0, 5, 10]) == "▁▅█"
    assert sparkline([1.0, 1.0]) == "██"  # counts: scaled from zero
    assert sparkline([1.0, 1.0], from_zero=False) == "▄▄"  # a flat trend sits mid-height
    assert sparkline([2.0, 3.0, 4.0], from_zero=False) == "▁▅█"


def test_summary_figures_tell_rates_from_durations():
    from perfkit.views import _fmt_figure

    assert _fmt_figure("rans_o0_dec_mb_s", 160.7) == "160.7"
    assert _fmt_figure("kernel_Mrec_per_s", 33.6) == "33.6"
    assert "s" in _fmt_figure("pack_s", 15.98) and _fmt_figure("pack_s", 15.98) != "15.98"


def test_html_links_py_spy_files_beside_the_report(tmp_path):
    (tmp_path / "run").mkdir()
    report = write(tmp_path / "run" / "run_report.json", load(REPORT_A))
    speedscope = '{"$schema": "https://www.speedscope.app/file-format-schema.json"}'
    (tmp_path / "run" / "run.speedscope.json").write_text(speedscope)
    other = tmp_path / "elsewhere.speedscope.json"
    other.write_text(speedscope)
    out = tmp_path / "page.html"
    result = invoke("show", report, "--html", out, "--speedscope", other)
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert 'href="elsewhere.speedscope.json"' in page and 'href="run/run.speedscope.json"' in page


def test_show_html_never_writes_over_what_the_page_is_drawn_from(tmp_path):
    """The events log beside a report is read for the worker timeline: `--html` over it is refused, with
    --force too, whether REPORT is given as the file or as the folder (the auditor's P1)."""
    report = write(tmp_path / "run_report.json", load(REPORT_A))
    events = tmp_path / "events.jsonl"
    events.write_text('{"event": "run_start"}\n')
    for given in (report, tmp_path):
        result = invoke("show", given, "--html", events, "--force")
        assert result.exit_code == 2 and "the input" in one_error_line(result)
    assert events.read_text() == '{"event": "run_start"}\n'


def test_show_html_default_stays_out_of_a_commands_output_folder(tmp_path):
    """A page written inside an output folder would stop that output's next --force run (its marker does
    not list it): the default page of an output folder's report goes beside the folder."""
    from perfkit.outputs import MARKER

    run = tmp_path / "s1.v2"
    run.mkdir()
    write(run / "run_report.json", load(REPORT_A))
    (run / MARKER).write_text(
        '{"owner": "seg1b s1", "entries": ["run_report.json"], "paths": ["run_report.json"]}\n'
    )
    result = invoke("show", run / "run_report.json", "--html")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s1.v2.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in run.iterdir()) == [MARKER, "run_report.json"]


@pytest.mark.parametrize("option", ["--pstats", "--speedscope"])
@pytest.mark.parametrize("content", [b"\x00\x01GPKG" + bytes(range(256)) * 8, b'{"schema_version": 1}'])
def test_show_refuses_a_profile_that_is_not_one(tmp_path, option, content):
    report = write(tmp_path / "run_report.json", load(REPORT_A))
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(content)
    result = invoke("show", report, "--html", tmp_path / "page.html", option, wrong)
    assert result.exit_code == 2, result.output
    assert f"{option} {wrong} is not a" in one_error_line(result)
    assert not (tmp_path / "page.html").exists()


def test_standard_input_is_named_when_given_as_a_report():
    for args in (("show", "-"), ("digest", "-"), ("diff", "-", str(REPORT_A))):
        result = invoke(*args)
        assert result.exit_code == 2 and "standard input is not read" in one_error_line(result)
