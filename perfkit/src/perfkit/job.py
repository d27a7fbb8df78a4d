"""One command's run from start to finish: outputs claimed and staged, a perfkit Run, a profile, one commit.

Every pipeline command wraps its work in :func:`job`; it is the only place that decides where a run
report goes and what happens to outputs when the work fails::

    with perfkit.job("mbp10", "bars", config=cfg, inputs=[dbn], files=[out], force=force,
                     report_dir=report_dir, profile=profile, bad_input=(Mbp10Error,)) as j:
        day_bars(dbn, j.path(out), run=j.run)

* Before the block runs, every output, ``--profile`` and ``--report-dir`` is checked against every
  input and against what exists (:class:`perfkit.outputs.Outputs`); a problem is an ``InputError``
  and nothing has been written.
* The block writes only into the staging paths (``j.path(target)``).
* Success: outputs renamed into place, then the profile, then the report.
* Bad input (``InputError`` or one of ``bad_input``): everything discarded, no report anywhere.
* Any other failure or an interrupt: outputs discarded, previous outputs untouched; a report with
  ``status: "failed"`` is kept only in an explicit ``--report-dir``.

Where the report goes: ``--report-dir`` when given; otherwise inside the first folder output; a
command whose outputs are all single files keeps no report files unless ``--report-dir`` is given.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from perfkit import interrupts
from perfkit.errors import InputError
from perfkit.interrupts import deferred
from perfkit.outputs import REPORT_FILES, Outputs
from perfkit.parallel import reporting_to
from perfkit.profiling import profile as _profile
from perfkit.resume import Journal, output_options
from perfkit.run import Run


class Job:
    """The claimed outputs and the :class:`perfkit.Run` of one command."""

    def __init__(self, outputs: Outputs, run: Run, report_path: Path | None):
        self.outputs = outputs
        self.run = run
        self.report_path = report_path

    def path(self, target: str | os.PathLike) -> Path:
        """The private staging path to write ``target`` to (it is renamed into place on success)."""
        return self.outputs.staged(target)


def _present(paths: Iterable | None) -> list[Path]:
    return [Path(p) for p in (paths or ()) if p is not None]


@contextlib.contextmanager
def job(
    pipeline: str,
    command: str,
    *,
    config: Mapping | None = None,
    inputs: Iterable | None = (),
    files: Iterable | None = (),
    directories: Iterable | None = (),
    force: bool = False,
    report_dir: str | os.PathLike | None = None,
    profile: str | os.PathLike | None = None,
    bad_input: tuple[type[BaseException], ...] = (),
    resumable: bool = False,
    resume: bool = False,
) -> Iterator[Job]:
    """Claim outputs, run the block inside a :class:`Run` (and cProfile), then commit or discard.

    ``resumable``: the first folder output keeps a journal of finished tasks (``map_tasks(...,
    phase=...)``) while the run goes on, so that after a crash or ``kill -9`` a rerun with ``resume``
    (``--resume``) keeps them and runs only the rest (:mod:`perfkit.resume`).
    """
    directories, files = _present(directories), _present(files)
    if resume and not (resumable and directories):
        raise InputError(f"{pipeline} {command} cannot resume (it writes no resumable folder)")
    options = output_options({"command": command, **dict(config or {})})
    outputs = Outputs(_present(inputs), force=force, owner=f"{pipeline} {command}")
    journal = None
    try:
        with deferred():
            for i, folder in enumerate(directories):
                staged = outputs.directory(folder, resume_options=options if (resume and i == 0) else None)
                if resumable and i == 0:
                    journal = Journal(staged, options)
            for file in files:
                outputs.file(file)
            profile_paths = outputs.profile(profile) if profile is not None else None
            if report_dir is not None:
                run_dir = outputs.report_dir(report_dir)
                report_path = Path(os.path.abspath(report_dir)) / REPORT_FILES[0]
            elif directories:
                run_dir = outputs.staged(directories[0])
                report_path = Path(os.path.abspath(directories[0])) / REPORT_FILES[0]
            else:
                run_dir, report_path = None, None
    except BaseException as exc:
        outputs.discard()
        outputs.reraise(exc)
    run = Run(pipeline, run_dir, {"command": command, **dict(config or {})})
    # What every worker of a remote Dask cluster must see: the inputs, and the staged outputs.
    shared = [(p, False) for p in _present(inputs)]
    shared += [(staged, kind == "dir") for staged, kind in outputs.staged_outputs()]
    try:
        with contextlib.ExitStack() as entered:
            # Entered with the stop signals held: the run's live log exists before its set-up ends, and a
            # Ctrl-C landing in between would skip its __exit__ (no report); held, it is raised right after,
            # inside the stack, so the run reports it.
            with deferred():
                entered.enter_context(run)
                entered.enter_context(reporting_to(run, shared, journal))
            if profile_paths is not None:
                with _profile(profile_paths[0], top_path=profile_paths[1]):
                    yield Job(outputs, run, report_path)
            else:
                yield Job(outputs, run, report_path)
    except BaseException as exc:
        with deferred():
            if report_dir is not None and not isinstance(exc, (InputError, *bad_input)):
                outputs.commit_report()
            outputs.discard()
        outputs.reraise(exc)
    with deferred():
        try:
            interrupts.raise_if_received()  # an interrupt something swallowed: never commit after one
            outputs.commit()
        except BaseException as exc:
            outputs.discard()
            outputs.reraise(exc)
