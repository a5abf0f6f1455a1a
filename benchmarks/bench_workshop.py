"""Benchmark: create a 20-student workshop and grade it.

Times :func:`portfolio_helpers.app.workshop.new_workshop` (per student: generate a dirty portfolio, write it,
clean it, run the analyses the keys come from, render the notebooks), then fills every student's answer
files (the key's values for exercises 1-4, the hidden segments as segmentation, the teacher's solution card
for exercise 5; no notebook is run) and times :func:`collect_grades`, which scores every answer of every
student (exercise 5 scores the scorecard on the held-out leads) and writes ``teacher/grades.csv``.
Targets on two cores: creation at most 10 minutes, grading at most 60 s.

    .venv/bin/python benchmarks/bench_workshop.py [--students 20] [--customers 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from common import parse_args

from portfolio_helpers.app.workshop import collect_grades, new_workshop
from portfolio_helpers.app.workshop.exercises import SOLUTION_CARD
from portfolio_helpers.app.workshop.grading import load_key
from portfolio_helpers.core.files import atomic_write_json

CREATE_TARGET_SECONDS = 600.0
GRADE_TARGET_SECONDS = 60.0


def _answers(student: Path) -> None:
    """Answer files as the check() cells would save them (not all right: exercise 5's AUC is not)."""
    key, _ = load_key(student)
    first = {name: entry.get("value", entry.get("accepted", [None])[0])
             for number in ("1", "2", "3") for name, entry in key["exercises"][number].items()}
    for number in ("1", "2", "3"):
        atomic_write_json(student / "answers" / f"ex0{number}.json",
                          {name: first[name] for name in key["exercises"][number]})
    truth = key["exercises"]["4"]["segments"]["truth"]
    atomic_write_json(student / "answers" / "ex04.json", {
        "k": len(set(truth.values())), "k_reason": "the hidden segments, by silhouette",
        "segment_names": {name: name for name in set(truth.values())}, "segments": truth})
    atomic_write_json(student / "answers" / "ex05.json", {"lead_scorecard": SOLUTION_CARD, "test_auc": 0.5})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--customers", type=int, default=400, help="buying customers per student portfolio")
    parser.add_argument("--seed", type=int, default=1)
    args = parse_args(parser, students=1, customers=150)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        workshop = new_workshop(Path(tmp) / "workshop", students=args.students, seed=args.seed,
                                customers=args.customers)
        create = time.perf_counter() - start
        verdict = "OK" if create <= CREATE_TARGET_SECONDS else "TOO SLOW"
        print(f"new_workshop: {args.students} students x {args.customers} customers in {create:.1f} s "
              f"({create / args.students:.1f} s per student; target {CREATE_TARGET_SECONDS:.0f} s: {verdict})")
        for student in workshop.students:
            _answers(student)
        start = time.perf_counter()
        path = collect_grades(workshop.path)
        grade = time.perf_counter() - start
        verdict = "OK" if grade <= GRADE_TARGET_SECONDS else "TOO SLOW"
        grades = pd.read_csv(path)
        print(f"collect_grades: {len(grades)} students in {grade:.1f} s (target {GRADE_TARGET_SECONDS:.0f} s: "
              f"{verdict}); mean {grades['total'].mean():.1f} / {grades['max_points'].iloc[0]} points; the solution "
              f"card beats the baseline for {int((grades['ex05'] >= 2).sum())} of {len(grades)} students")


if __name__ == "__main__":
    main()
