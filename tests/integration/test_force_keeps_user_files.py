"""`--force` replaces an earlier output folder, never a file of the user's anywhere inside it (the auditor's
S1: `seg1b s1 ... --force` deleted `tiles/notes.txt`), and `--report-dir` into another command's output folder
needs `--force` (S2). Real commands, as a user runs them."""

from __future__ import annotations

import json

from tests.hostile import Case, check_case, run

S1 = ["seg1b", "s1", "--countries", "ne110m", "--resolution-arcsec", "600", "--only", "LUX", "-q"]


def _earlier_output_with_a_note(folder):
    assert run([*S1, "--out", "idx"], folder).returncode == 0
    (folder / "idx" / "tiles" / "notes.txt").write_text("my precious notes")


def test_force_keeps_a_users_file_in_a_subfolder_of_the_output(tmp_path):
    case = Case(
        "force-nested-foreign-file",
        [*S1, "--out", "idx", "--force"],
        2,
        "tiles/notes.txt",
        setup=_earlier_output_with_a_note,
    )
    check_case(case, tmp_path)
    assert (tmp_path / "idx" / "tiles" / "notes.txt").read_text() == "my precious notes"


def test_report_dir_into_another_runs_output_needs_force(tmp_path):
    assert run([*S1, "--out", "idx"], tmp_path).returncode == 0
    case = Case(
        "report-dir-into-an-output",
        [*S1, "--out", "idx2", "--report-dir", "idx"],
        2,
        "output folder of an earlier run",
    )
    check_case(case, tmp_path)
    assert json.loads((tmp_path / "idx" / "run_report.json").read_text())["pipeline"] == "seg1b"
