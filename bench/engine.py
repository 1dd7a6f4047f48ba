"""Benchmark: the engine's evaluation, this tree against the engine of a base revision.

    python bench/engine.py                   # base 68d161f, 5 runs each, alternating
    python bench/engine.py --base HEAD --runs 3 --returns 300

Each run is a fresh process (CPU s, ``time.process_time``), so the base and this tree are
timed alternately under the same load.  The base's engine is this tree's ``kpi_engine``
with the evaluator's files (``expr.py``, ``measures.py``, ``evaluate.py``) taken from the
base revision, put first on ``PYTHONPATH``.  Workloads, each its own child:

- ``collect``: the seed plan, ``--returns`` returns of plausible counts (one in ten with a
  blank, text, formula or error value somewhere), ``evaluate(..., cells=True)`` per return,
  as collect evaluates every return (time per return, the first ones included);
- ``calculate-seed``: the seed plan evaluated twice, as one ``kpi calculate`` does (cold);
- ``calculate-200``: the same for a generated plan of 200 indicators (cold).

Printed: median ms of each, base / this, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EVALUATOR = ("expr.py", "measures.py", "evaluate.py")
NEW_FILES = ("expr_compile.py",)  # files the base does not have (removed from its copy)
WORKLOADS = ("collect", "calculate-seed", "calculate-200")


ODD = (None, "", "12", "abc", "=A1", "#N/A", True, 1.5, -3, 10**10)


def _returns(plan, count: int) -> list[dict]:
    """``count`` returns of plausible counts; one in ten has an odd value somewhere (a blank,
    text, a formula, an error value…), as an inbox holds them."""
    from bench.genplan import generated_entries

    rng = random.Random(1)
    out = []
    for n in range(count):
        entries = {p.id: generated_entries(plan, p.id, seed=n) for p in plan.periods}
        if n % 10 == 9:
            period = rng.choice(list(entries))
            ind = rng.choice(list(entries[period]))
            role = rng.choice(list(entries[period][ind]))
            entries[period][ind][role] = rng.choice(ODD)
        out.append(entries)
    return out


def _child(workload: str, returns: int) -> float:
    """CPU seconds of one workload in this process (imports and plan loading not counted)."""
    sys.path.append(str(REPO))  # after the base engine, when PYTHONPATH puts one first
    from bench.genplan import generated_plan
    from kpi_engine import load_plan
    from kpi_engine.evaluate import evaluate

    if workload == "calculate-200":
        plan = generated_plan(200)
        batches = _returns(plan, 1) * 2
    else:
        plan = load_plan(REPO / "templates" / "taichung_secretariat_107.yaml")
        batches = _returns(plan, returns) if workload == "collect" else _returns(plan, 1) * 2
    start = time.process_time()
    for entries in batches:
        evaluate(plan, entries, cells=True)
    return time.process_time() - start


def _base_engine(base: str, into: Path) -> Path:
    """This tree's kpi_engine with the evaluator's files of ``base``."""
    target = into / "kpi_engine"
    shutil.copytree(REPO / "kpi_engine", target, ignore=shutil.ignore_patterns("__pycache__"))
    for name in NEW_FILES:
        (target / name).unlink(missing_ok=True)
    for name in EVALUATOR:
        text = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{base}:kpi_engine/{name}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        (target / name).write_text(text, encoding="utf-8")
    return into


def _run(workload: str, returns: int, overlay: Path | None) -> float:
    env = dict(os.environ)
    paths = ([str(overlay)] if overlay else []) + [str(REPO)]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", workload, "--returns", str(returns)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),  # not the repository: its kpi_engine would come first
    ).stdout
    return json.loads(out)["cpu"]


def main(argv: list[str] | None = None) -> None:
    """Time every workload, base and this tree alternately; print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", default="68d161f", help="revision whose evaluator is the baseline")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--returns", type=int, default=300, help="returns in the collect workload")
    parser.add_argument("--child", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps({"cpu": _child(args.child, args.returns)}))
        return
    with tempfile.TemporaryDirectory() as tmp:
        overlay = _base_engine(args.base, Path(tmp))
        print(f"engine evaluation, CPU ms (median of {args.runs}), base {args.base} vs this tree")
        print(f"{'workload':<16} {'base':>9} {'this':>9} {'ratio':>7}")
        for workload in WORKLOADS:
            times: dict[str, list[float]] = {"base": [], "this": []}
            for _ in range(args.runs):
                times["base"].append(_run(workload, args.returns, overlay))
                times["this"].append(_run(workload, args.returns, None))
            base, this = (statistics.median(times[k]) * 1000 for k in ("base", "this"))
            per = (
                f" ({base / args.returns:.2f} / {this / args.returns:.2f} ms a return)"
                if workload == "collect"
                else ""
            )
            print(f"{workload:<16} {base:9.1f} {this:9.1f} {base / this:6.2f}×{per}")


if __name__ == "__main__":
    main()
