"""The ``kpi`` command line: a thin layer over the Python API.

Exit codes: 0 ok, 1 findings of severity error, 2 an unusable plan, input or file.
Heavy modules are imported inside each command so ``kpi --help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kpi_engine import EntriesError, PlanError, evaluate, load_plan
from kpi_engine.evaluate import Evaluation

from .report import print_evaluation

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user gave us; printed without a traceback."""


def _load_entries(path: Path) -> dict[str, Any]:
    import yaml  # JSON is YAML, so one loader reads both

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"無法讀取填報數據檔 / cannot read entries file {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(f"填報數據檔須為對照表 / entries file must be a mapping: {path}")
    return doc


def cmd_plan_check(args: argparse.Namespace) -> int:
    """``kpi plan check [PLAN]``: validate a plan file and summarise it."""
    plan = load_plan(args.plan)
    ev = Evaluation(plan)
    warning = ev.weight_warning()
    if args.json:
        print(
            json.dumps(
                {"ok": True, "plan": plan.id, "fingerprint": plan.fingerprint, "weight_warning": warning},
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_OK
    print(f"計畫檔正確 / plan OK: {plan.title}（{plan.id}）")
    print(
        f"  目標 {len(plan.goals)} 項、指標 {len(plan.indicators)} 項、重要施政計畫項目 {sum(len(w.items) for w in plan.work_plans)} 項"
    )
    print(f"  指紋 fingerprint: {plan.fingerprint[:16]}…")
    if warning:
        print(f"  注意 / note: {warning['message_zh']} / {warning['message_en']}")
    return EXIT_OK


def cmd_compute(args: argparse.Namespace) -> int:
    """``kpi compute [PLAN] --entries FILE``: evaluate counts without a workbook."""
    plan = load_plan(args.plan)
    doc = _load_entries(Path(args.entries))
    entries = doc.get("entries", doc)
    targets = args.targets or doc.get("targets", "current")
    year = args.year or doc.get("year")
    if targets not in ("current", "previous"):
        raise UsageError(
            f"targets 須為 current 或 previous / targets must be current or previous: {targets!r}"
        )
    ev = evaluate(plan, entries, targets=targets, year=year)
    if args.json:
        print(json.dumps(ev.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_evaluation(ev)
    return EXIT_FINDINGS if ev.has_errors else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """``kpi demo [DIR]``: the embedded plan's sample counts, calculated and printed."""
    from kpi_engine import sample_entries

    plan = load_plan(None)
    sample = plan.sample
    assert sample is not None, "the embedded plan carries sample data"
    ev = evaluate(plan, sample_entries(plan), targets=sample.targets, year=sample.year)
    print(f"{plan.agency} 上({sample.year})年度實施狀況及成果概述 — 範例數據")
    print_evaluation(ev)
    return EXIT_FINDINGS if ev.has_errors else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kpi``."""
    parser = argparse.ArgumentParser(prog="kpi", description="績效指標填報工作簿 KPI Workbook")
    sub = parser.add_subparsers(dest="command", required=True)

    plan = sub.add_parser("plan", help="計畫檔工具 / plan file tools")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    check = plan_sub.add_parser("check", help="檢查計畫檔 / validate a plan file")
    check.add_argument("plan", nargs="?", help="計畫檔（預設內建計畫）/ plan file (default: embedded)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_plan_check)

    compute = sub.add_parser("compute", help="以填報數據計算 / evaluate entered counts")
    compute.add_argument("plan", nargs="?", help="計畫檔（預設內建計畫）/ plan file (default: embedded)")
    compute.add_argument("--entries", required=True, help="填報數據 YAML/JSON / entries file")
    compute.add_argument("--targets", choices=["current", "previous"], help="以本年度或上年度目標值評估")
    compute.add_argument("--year", type=int, help="數據所屬民國年度 / ROC year of the counts")
    compute.add_argument("--json", action="store_true")
    compute.set_defaults(func=cmd_compute)
    demo = sub.add_parser("demo", help="以內建計畫範例數據示範 / run the embedded plan's sample")
    demo.add_argument("dir", nargs="?", default="kpi-demo", help="輸出資料夾 / output folder")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``kpi`` command; returns the exit code."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # Windows consoles default to a legacy code page
            stream.reconfigure(encoding="utf-8", errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except PlanError as exc:
        print(exc, file=sys.stderr)
    except (EntriesError, UsageError) as exc:
        print(f"錯誤 / error: {exc}", file=sys.stderr)
    return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
