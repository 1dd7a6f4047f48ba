"""Fuzz the workbook readers and the plan loader for longer than CI does.

    python tools/fuzz.py --minutes 10              # all targets, round robin
    python tools/fuzz.py --minutes 3 --target calamine

The engine is hypothesis (the same strategies and targets as tests/test_fuzz.py, from
tests/fuzz_targets.py), run in rounds of ``--examples`` with a fresh seed each round
until the time budget is spent.  Every outcome is counted: a clean read, a
``WorkbookFileError`` / ``PlanError``, a known bug (``fuzz_targets.KNOWN_BUGS``), or a
new escape.  A new escape is shrunk by hypothesis and printed once with its minimal
input; later rounds count it without stopping.  Exit status 1 when anything new
escaped.  atheris is not used: hypothesis needs no native build and shares the
tests' strategies.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import fuzz_targets as F  # noqa: E402
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kpi_engine import PlanError, load_plan, parse_plan  # noqa: E402
from workbook.formats.files import WorkbookFileError  # noqa: E402


class NewEscape(Exception):
    """Raised inside a round so hypothesis shrinks the input of a new kind of escape."""


def load_bytes(data: bytes, folder: Path) -> None:
    path = folder / "fuzz.yaml"
    path.write_bytes(data)
    load_plan(path)


def make_targets(folder: Path) -> dict:
    def workbook(read):
        return F.mutations, lambda steps: read(F.mutate(F.small_workbook(), steps))

    return {
        "filebook": workbook(lambda data: F.read_with_filebook(data, folder)),
        "calamine": workbook(F.read_with_calamine),
        "plan-edit": (F.text_edits, lambda edits: parse_plan(F.edit_text(F.plan_text(), edits))),
        "plan-text": (st.text(max_size=2000), parse_plan),
        "plan-bytes": (st.binary(max_size=2000), lambda data: load_bytes(data, folder)),
    }


def run_round(name, strategy, target, examples, round_seed, counts, escapes) -> None:
    failing: list = []  # hypothesis replays the shrunk input last

    def classify(value) -> None:
        try:
            target(value)
            counts[name, "ok"] += 1
        except (WorkbookFileError, PlanError):
            counts[name, "refused cleanly"] += 1
        except Exception as exc:
            sig = F.signature(exc)
            known = F.known_bug(exc)
            if known:
                counts[name, f"known: {known}"] += 1
            elif sig[:2] in escapes:
                counts[name, f"new: {sig[0]} at {sig[1]}:{sig[2]}"] += 1
            else:
                failing[:] = [value]
                raise NewEscape(sig) from exc

    test = settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )(given(strategy)(classify))
    test = seed(round_seed)(test)
    try:
        test()
    except NewEscape as found:
        sig = found.args[0]
        escapes[sig[:2]] = (
            f"{sig[0]} at {sig[1]}:{sig[2]} ({found.__cause__!r:.300}); minimal input: {failing[0]!r:.500}"
        )
        counts[name, f"new: {sig[0]} at {sig[1]}:{sig[2]}"] += 1
        print(f"NEW ESCAPE in {name}: {escapes[sig[:2]]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10, help="time budget (default 10)")
    parser.add_argument(
        "--target",
        choices=["all", "filebook", "calamine", "plan-edit", "plan-text", "plan-bytes"],
        default="all",
    )
    parser.add_argument("--examples", type=int, default=200, help="examples per round (default 200)")
    parser.add_argument("--seed", type=int, default=None, help="first round's seed (default random)")
    args = parser.parse_args(argv)

    folder = Path(tempfile.mkdtemp(prefix="kpi-fuzz-"))
    targets = make_targets(folder)
    names = list(targets) if args.target == "all" else [args.target]
    rng = random.Random(args.seed)
    counts: Counter = Counter()
    escapes: dict = {}
    deadline = time.monotonic() + args.minutes * 60
    rounds = 0
    F.small_workbook()  # build the seed once, outside the budget's first round
    while time.monotonic() < deadline:
        name = names[rounds % len(names)]
        strategy, target = targets[name]
        run_round(name, strategy, target, args.examples, rng.getrandbits(64), counts, escapes)
        rounds += 1
    print(f"\n{rounds} rounds in {args.minutes:g} min")
    for name in names:
        total = sum(v for (n, _), v in counts.items() if n == name)
        print(f"{name}: {total} inputs")
        for (n, outcome), v in sorted(counts.items(), key=lambda kv: -kv[1]):
            if n == name:
                print(f"  {v:7d}  {outcome}")
    if escapes:
        print("\nnew escapes:")
        for text in escapes.values():
            print(f"  {text}")
    return 1 if escapes else 0


if __name__ == "__main__":
    sys.exit(main())
