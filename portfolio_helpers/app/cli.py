"""The ``portfolio`` command.

``portfolio report`` runs the notebooks and prints where the report is;
``portfolio demo-data`` writes a synthetic portfolio to try the kit on;
``portfolio big-data`` writes a big synthetic portfolio as Parquet (millions of lines, for the engine);
``portfolio workshop new|check|grades`` creates a segmentation workshop (one portfolio and
set of exercise notebooks per student), checks a student's answers, and collects the grades.

Exit codes: 0 success, 1 a notebook failed (the report is still published),
2 a problem with the user's input or configuration (one ``error:`` line, no
traceback), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO

from portfolio_helpers.core.errors import PortfolioError

__all__ = ["main", "build_parser"]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


class Console:
    """Progress of a report run: one line per notebook.

    On a terminal the line of the running notebook shows its elapsed time, rewritten in
    place every second, and is replaced by ``[2/5] 02_pareto ... ok (8.7 s)`` when it ends;
    when several notebooks run at the same time, the live line shows each of them.
    Elsewhere (a log file, cron) only the final line of each notebook is written. With
    ``quiet`` nothing is written; failures still go to stderr.
    """

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, interval: float = 1.0):
        self.stream = stream or sys.stdout
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()
        self.interval = interval
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._width = 0
        self._running: dict[str, float] = {}  # live prefix -> start time

    def line(self, text: str) -> None:
        """Write a line of progress; a notebook's final line ends its part of the live line."""
        ended = [prefix for prefix in self._running if text.startswith(prefix + " ")]
        for prefix in ended:
            del self._running[prefix]
        if not self._running:
            self._stop_ticker()
        if self.quiet:
            return
        with self._lock:
            self._write(text + "\n")
            if self._running:
                self._write(self._live_text())

    def started(self, number: int, total: int, name: str) -> None:
        """A notebook started: on a terminal, show its elapsed time until it ends."""
        if not self.live:
            return
        self._running[f"[{number}/{total}] {name} ..."] = time.monotonic()
        if self._thread is not None:
            return
        stop = threading.Event()

        def tick() -> None:
            while True:
                with self._lock:
                    if stop.is_set():
                        return
                    self._write(self._live_text())
                if stop.wait(self.interval):
                    return

        self._stop, self._thread = stop, threading.Thread(target=tick, name="progress", daemon=True)
        self._thread.start()

    def _live_text(self) -> str:
        now = time.monotonic()
        return " | ".join(f"{prefix} {now - start:.0f} s" for prefix, start in list(self._running.items()))

    def close(self) -> None:
        """Stop the live line of a notebook that did not end (the run was interrupted)."""
        self._running.clear()
        self._stop_ticker()

    def _write(self, text: str) -> None:
        if self.live:  # rewrite the current line: carriage return, text, blanks over a longer old text
            body = text.rstrip("\n")
            text = "\r" + body + " " * max(0, self._width - len(body)) + ("\n" if text.endswith("\n") else "")
            self._width = 0 if text.endswith("\n") else len(body)
        self.stream.write(text)
        self.stream.flush()

    def _stop_ticker(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._thread.join()
            self._stop = self._thread = None


class _Parser(argparse.ArgumentParser):
    """Usage errors exit with code 2 like every other input problem, in one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``portfolio`` command."""
    parser = _Parser(prog="portfolio", description="Customer portfolio analysis kit.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    report = commands.add_parser(
        "report",
        help="run the analysis notebooks and publish an HTML report",
        description="Run the analysis notebooks on a portfolio and publish OUT/<run-id>/index.html.",
    )
    report.add_argument("--config", metavar="FILE", help="portfolio config (default: the bundled sample)")
    report.add_argument(
        "--out", metavar="DIR", default="reports", help="reports folder (default: %(default)s)"
    )
    report.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="run only these notebooks: full name (02_pareto), name (pareto) or number (02)",
    )
    report.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a notebook parameter, for every notebook declaring it (top_share=0.2) "
        "or for one (02_pareto.top_share=0.2); repeatable",
    )
    report.add_argument("--strict", action="store_true", help="treat rejected rows as an error")
    report.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors (for cron); the exit code tells the outcome"
    )
    report.add_argument(
        "-j", "--jobs",
        type=_positive_int,
        default=None,
        metavar="N",
        help="notebooks run at the same time, in the order of their needs (default: 2, or 1 on a one-core machine)",
    )
    report.add_argument(
        "--timeout",
        type=_positive_float,
        default=600,
        metavar="SECONDS",
        help="maximum run time of a single notebook cell (default: %(default)s)",
    )

    demo = commands.add_parser(
        "demo-data",
        help="write a synthetic portfolio (CSV exports and a config)",
        description="Write a synthetic customer portfolio to try the kit on.",
    )
    demo.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
    demo.add_argument(
        "--customers", type=_non_negative_int, default=2000, metavar="N", help="default: %(default)s"
    )
    demo.add_argument("--seed", type=_non_negative_int, default=42, metavar="S", help="default: %(default)s")
    demo.add_argument("--dirty", action="store_true", help="add the defects real exports have")
    big = commands.add_parser(
        "big-data",
        help="write a big synthetic portfolio as Parquet (transactions, customers and a config)",
        description="Write a big synthetic portfolio straight to Parquet, in chunks (memory bounded by the "
                    "customers and the chunk): OUT/transactions.parquet, OUT/customers.parquet, OUT/portfolio.yml.",
    )
    big.add_argument("--out", metavar="DIR", required=True, help="folder to write into")
    big.add_argument("--lines", type=_positive_int, required=True, metavar="N",
                     help="transaction lines, credit notes included (e.g. 10000000)")
    big.add_argument("--customers", type=_positive_int, required=True, metavar="M",
                     help="customers, at most --lines (e.g. 1000000)")
    big.add_argument("--seed", type=_non_negative_int, default=7, metavar="S", help="default: %(default)s")
    big.add_argument("--chunk-lines", type=_positive_int, default=1_000_000, metavar="N",
                     help="lines per Parquet row group; changes no value (default: %(default)s)")
    big.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    _add_workshop(commands)
    return parser


def _add_workshop(commands) -> None:
    workshop = commands.add_parser(
        "workshop",
        help="segmentation workshop: exercises per student, self-check, grade sheet",
        description="A segmentation workshop: every student gets their own portfolio and exercise notebooks; "
                    "answer keys and solutions stay in DIR/teacher.",
    )
    actions = workshop.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=_Parser)
    new = actions.add_parser("new", help="create a workshop folder", description="Create a workshop in DIR.")
    new.add_argument("--out", metavar="DIR", required=True, help="new (or empty) folder")
    new.add_argument("--students", type=_non_negative_int, default=20, metavar="N", help="default: %(default)s")
    new.add_argument("--seed", type=_non_negative_int, default=None, metavar="S",
                     help="the same seed writes the same workshop; whoever knows it can rebuild the answer keys "
                          "(default: a random seed, kept in DIR/teacher/workshop.json)")
    new.add_argument("--level", choices=("intro", "advanced"), default="intro", help="default: %(default)s")
    new.add_argument("--lang", choices=("en", "fr"), default="en", help="default: %(default)s")
    new.add_argument("--customers", type=_non_negative_int, default=400, metavar="N",
                     help="customers per student portfolio (default: %(default)s)")
    check = actions.add_parser("check", help="score a student's saved answers",
                               description="Score the answers a student's check() cells saved.")
    check.add_argument("student_dir", metavar="STUDENT_DIR", help="e.g. DIR/student_01")
    grades = actions.add_parser("grades", help="collect every student's scores into DIR/teacher/grades.csv",
                                description="Score every student and write DIR/teacher/grades.csv.")
    grades.add_argument("workshop_dir", metavar="DIR")


def _report(args: argparse.Namespace) -> int:
    from portfolio_helpers.app.runner import parse_overrides, run_report

    console = Console(quiet=args.quiet)
    try:
        result = run_report(
            config_path=args.config,
            out_dir=args.out,
            only=args.only,
            overrides=parse_overrides(args.overrides),
            strict=args.strict,
            cell_timeout=args.timeout,
            jobs=args.jobs,
            progress=console.line,
            notebook_started=console.started,
        )
    finally:
        console.close()
    for notebook in result.notebooks:
        if notebook.status == "failed":
            print(f"failed: {notebook.name}: {notebook.error}", file=sys.stderr)
    if not args.quiet:
        print(f"Report: {result.index_path}")
    if result.exit_code:
        print(
            "The report is incomplete: `latest` still points to the previous successful run.", file=sys.stderr
        )
    return result.exit_code


def _demo_data(args: argparse.Namespace) -> int:
    from portfolio_helpers.app.sample_data import write_demo_data  # heavy imports only for this command

    path = write_demo_data(args.out, n_customers=args.customers, seed=args.seed, dirty=args.dirty)
    print(f"Demo data: {path}")
    return 0


def _big_data(args: argparse.Namespace) -> int:
    from portfolio_helpers.app.big_data import write_big_portfolio  # heavy imports only for this command

    if args.lines < args.customers:
        raise PortfolioError(f"--lines ({args.lines}) must be at least --customers ({args.customers}): every "
                             "customer buys at least once")
    start = time.monotonic()
    step = max(args.lines // 10, 1)
    shown = [0]

    def progress(written: int, total: int) -> None:
        if not args.quiet and (written - shown[0] >= step or written == total):
            shown[0] = written
            elapsed = time.monotonic() - start
            print(f"{written:,} / {total:,} lines ({elapsed:.0f} s)", flush=True)

    big = write_big_portfolio(args.out, n_lines=args.lines, n_customers=args.customers, seed=args.seed,
                              chunk_lines=args.chunk_lines, progress=progress)
    elapsed = time.monotonic() - start
    if not args.quiet:
        print(f"{big.n_lines:,} lines, {big.n_orders:,} orders, {big.n_customers:,} customers in {elapsed:.1f} s "
              f"({big.n_lines / max(elapsed, 1e-9):,.0f} lines/s)")
    print(f"Big data: {big.config}")
    return 0


def _workshop(args: argparse.Namespace) -> int:
    from portfolio_helpers.app import workshop  # heavy imports only for this command
    from portfolio_helpers.app.workshop.grading import student_info, student_table, workshop_lang
    from portfolio_helpers.app.workshop.texts import cli_text, number_text

    if args.action == "new":
        created = workshop.new_workshop(args.out, students=args.students, seed=args.seed, level=args.level,
                                        lang=args.lang, customers=args.customers)
        n = len(created.students)
        students = cli_text(args.lang, "one_student") if n == 1 else cli_text(args.lang, "n_students", n=n)
        teacher = created.path / "teacher"
        print(cli_text(args.lang, "created", path=created.path, students=students, teacher=teacher,
                       exercises=", ".join(str(number) for number in created.exercises), seed=created.seed))
        if workshop.guessable_seed(created.seed):
            print(cli_text(args.lang, "guessable_seed", seed=created.seed, teacher=teacher), file=sys.stderr)
        return 0
    if args.action == "check":
        results = workshop.check_student(args.student_dir)
        lang = student_info(args.student_dir)["lang"]
        for row in results.itertuples(index=False):
            print(f"ex{row.exercise:02d} {row.name}: {number_text(float(row.points), lang)}/{row.max_points} "
                  f"{row.feedback}")
        table = student_table(results)
        shown = table.assign(points=[number_text(float(points), lang) for points in table["points"]])
        shown.columns = cli_text(lang, "columns").split(",")
        print(shown.to_string(index=False))
        print(cli_text(lang, "total", points=f"{table['points'].sum():g}", max_points=table["max_points"].sum()))
        return 0
    path = workshop.collect_grades(args.workshop_dir)
    print(cli_text(workshop_lang(args.workshop_dir), "grades", path=path))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``portfolio`` command; return its exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return int(exc.code or 0)
    try:
        return {"report": _report, "demo-data": _demo_data, "big-data": _big_data,
                "workshop": _workshop}[args.command](args)
    except PortfolioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
