"""Instrument options that contradict each other are refused in one line (issue 14's user audit, M9): each
was silently dropped before (`--spreads --front-month` kept no spread; `--no-spreads --symbol ESH4-ESM4`
kept the spread)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from mbp10.cli import main


@pytest.fixture(scope="module")
def parent_pull(tmp_path_factory):
    path = tmp_path_factory.mktemp("m9") / "ES.FUT-2024-01-02.dbn.zst"
    args = [
        "synth",
        "--date",
        "2024-01-02",
        "--records",
        "3000",
        "--parent",
        "ES.FUT",
        "--out",
        str(path),
        "-q",
    ]
    for s in ("ESH4", "ESM4", "ESH4-ESM4"):
        args += ["--symbol", s]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    return path


@pytest.mark.parametrize(
    "options, words",
    [
        (["--spreads", "--front-month"], ["--front-month", "--spreads"]),
        (["--no-spreads", "--symbol", "ESH4-ESM4"], ["--no-spreads", "--symbol"]),
        (["--spreads", "--instrument-id", "4242"], ["--spreads", "--instrument-id"]),
    ],
)
def test_contradictory_instrument_options_are_refused(parent_pull, tmp_path, options, words):
    out = tmp_path / "b.parquet"
    for cmd in (
        ["bars", str(parent_pull), "-o", str(out)],
        [
            "run",
            "--input-dir",
            str(parent_pull.parent),
            "--dates",
            "2024-01-02",
            "--out",
            str(tmp_path / "r"),
        ],
    ):
        r = CliRunner().invoke(main, cmd + options)
        assert r.exit_code == 2, r.output
        line = r.output.strip()
        assert "\n" not in line and line.startswith("error:") and all(w in line for w in words), line
    assert not out.exists() and not (tmp_path / "r").exists()


def test_the_options_on_their_own_still_work(parent_pull, tmp_path):
    for i, options in enumerate(
        (["--spreads"], ["--front-month"], ["--symbol", "ESH4-ESM4"], ["--no-spreads"])
    ):
        r = CliRunner().invoke(
            main, ["bars", str(parent_pull), "-o", str(tmp_path / f"{i}.parquet"), "-q", *options]
        )
        assert r.exit_code == 0, (options, r.output)


def test_api_refuses_front_month_with_spreads(parent_pull):
    import mbp10.api as mb
    from mbp10.errors import Mbp10Error

    with pytest.raises(Mbp10Error, match="--front-month"):
        mb.bars(parent_pull, spreads=True, front_month=True)
