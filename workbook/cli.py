"""The ``kpi`` command line: a thin layer over the Python API.

Exit codes: 0 ok, 1 findings of severity error, 2 an unusable plan, input or file
(every :class:`~kpi_engine.errors.KpiError`, and any error of the operating system),
130 interrupted (Ctrl-C), 141 the reader of the output went away.  One handler in
:func:`main` prints every error zh-TW first, then English; never a traceback.
Heavy modules are imported inside each command so ``kpi --help`` stays quick.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from kpi_engine import PlanError, evaluate
from kpi_engine.errors import KpiError
from kpi_engine.evaluate import Evaluation
from kpi_engine.plan_loader import require_final
from workbook.cliparse import ArgumentUsageError, KpiArgumentParser, dash_file_hint
from workbook.interrupts import ignore_interrupts, no_interrupt, stop_on_termination
from workbook.outputs import archive_target, output_format
from workbook.plan_io import load_any
from workbook.report import print_evaluation

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped with Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool whose reader went away


class UsageError(KpiError):
    """A problem with what the user gave us; printed without a traceback."""

    code = "usage"


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
    try:
        plan = load_any(args.plan)
        require_final(plan)  # 「待設定」 targets: templates are made, but the plan is not final
    except PlanError as exc:
        if not args.json:
            raise
        issues = [
            {
                "code": i.code,
                "path": i.path,
                "line": i.line,
                "sheet": getattr(i, "sheet", None),
                "cell": getattr(i, "cell", None),
                "message_zh": i.message_zh,
                "message_en": i.message_en,
            }
            for i in exc.issues
        ]
        print(json.dumps({"ok": False, "source": exc.source, "issues": issues}, ensure_ascii=False, indent=2))
        return EXIT_UNUSABLE
    ev = Evaluation(plan)
    warning = ev.weight_warning()
    bad = _sample_errors(plan)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not bad,
                    "plan": plan.id,
                    "fingerprint": plan.fingerprint,
                    "weight_warning": warning,
                    "sample_findings": [f.to_dict() for f in bad],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return EXIT_FINDINGS if bad else EXIT_OK
    if bad:  # the sample is checked as staff's entries are: 11 of 10 is an error
        print(f"範例數據（sample）有誤 / the plan's sample has errors: {plan.title}（{plan.id}）")
        for f in bad:
            print(f"  - sample {f.indicator}: {f.message_zh} / {f.message_en}")
        return EXIT_FINDINGS
    print(f"計畫檔正確 / plan OK: {plan.title}（{plan.id}）")
    print(
        f"  目標 {len(plan.goals)} 項、指標 {len(plan.indicators)} 項、重要施政計畫項目 {sum(len(w.items) for w in plan.work_plans)} 項"
    )
    print(f"  指紋 fingerprint: {plan.fingerprint[:16]}…")
    if warning:
        print(f"  注意 / note: {warning['message_zh']} / {warning['message_en']}")
    return EXIT_OK


def _sample_errors(plan) -> list:
    """The errors of the plan's sample counts, checked exactly as entries are."""
    from kpi_engine import sample_entries

    if plan.sample is None:
        return []
    ev = evaluate(plan, sample_entries(plan), targets=plan.sample.targets, year=plan.sample.year)
    return [f for f in ev.findings if f.severity == "error"]


def cmd_plan_rollover(args: argparse.Namespace) -> int:
    """``kpi plan rollover [PLAN] --to 108 [--archive FILE] -o NEXT.yaml|.xlsx|.ods``: next year's plan."""
    from kpi_engine.rollover import rollover
    from workbook.formats.files import check_output_target, refuse_existing, save_atomic
    from workbook.plan_io.commands import EDITED_PLAN, check_next_year

    kind = output_format("plan", args.output)
    plan = load_any(args.plan)
    check_next_year(plan.year, args.to)
    out = check_output_target(args.output, [args.plan] if args.plan else [])
    refuse_existing(out, force=args.force, holds=EDITED_PLAN)
    results, notes, unit, pending = None, None, None, ""
    if args.archive:
        from workbook.report.archive import Archive
        from workbook.report.gather import from_collection

        full = next((p for p in plan.periods if p.is_full_year()), None)
        if full is None:
            raise UsageError("計畫沒有全年度期別 / the plan has no full-year period")
        with Archive.open(args.archive, create=False) as arc:
            coll = arc.collection([plan], plan.year)  # the one collection, as collect and report read it
        by_period = from_collection(coll).get(plan.id, {})
        units = by_period.get((plan.year, full.id), {})
        have = [plan.period(pid).name for (y, pid) in by_period if y == plan.year and pid != full.id]
        if units:
            unit = args.unit or (next(iter(units)) if len(units) == 1 else plan.agency)
            if unit not in units:
                names = "、".join(units)
                raise UsageError(f"請以 --unit 指定填報單位（{names}）/ choose a unit with --unit: {names}")
            results, notes = units[unit].results, units[unit].notes
        else:  # mid-year drafting: no full-year results yet, so the sample waits for them
            pending = f"彙整資料庫只有 {plan.year} 年度{'、'.join(have) or '其他期別'}的資料" if have else ""
            pending = pending or f"彙整資料庫沒有 {plan.year} 年度的資料"
            print(
                f"注意：{pending}，sample 標示為待補；全年度彙整後請重新執行 kpi plan rollover"
                f" / warning: no {plan.year} full-year results in the archive; the sample is marked 待補",
                file=sys.stderr,
            )
    text = rollover(plan, args.to, results=results, notes=notes, pending=pending)
    if kind == "yaml":
        save_atomic(text.encode("utf-8"), out)
    else:  # the plan-authoring workbook (.xlsx or .ods), as kpi plan export writes it
        import yaml

        from workbook.plan_io.commands import write_plan_data

        write_plan_data(yaml.safe_load(text), out, inputs=(Path(args.plan),) if args.plan else ())
    print(f"已產生 {args.to} 年度計畫 / plan written: {out}")
    print(
        f"  目標值 {len(plan.indicators)} 項待設定（target: 待設定）；previous_target 為 {plan.year} 年度目標值"
    )
    if results:
        filled = sum(
            1 for r in results if r.period == full.id and any(v is not None for v in r.inputs.values())
        )
        print(f"  sample：{unit} {plan.year} 年度全年度實績 {filled} 項（共 {len(plan.indicators)} 項）")
    elif pending:
        print(f"  sample：待補（{pending}）")
    print("  填入目標值後請執行 / then run: kpi plan check " + str(out))
    return EXIT_OK


def cmd_compute(args: argparse.Namespace) -> int:
    """``kpi compute [PLAN] --entries FILE``: evaluate counts without a workbook."""
    plan = load_any(args.plan)
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


def _scope(
    plan_path: str | None,
    *,
    unit: str = "",
    owner: str | None = None,
    period: str | None = None,
    year: int | None = None,
):
    from workbook.form.layout import Scope

    plan = load_any(plan_path)
    if owner and owner not in plan.owners:
        raise UsageError(f"承辦單位不存在 / unknown owner {owner!r} (known: {', '.join(plan.owners)})")
    period_id = None
    if period:
        try:
            period_id = plan.period(period).id
        except KeyError:
            zh = "、".join(f"{p.name}（{p.id}）" for p in plan.periods)
            en = ", ".join(f"{p.name} ({p.id})" for p in plan.periods)
            raise UsageError(
                f"期別不存在：{period!r}，可選：{zh} / unknown period {period!r}; choose from: {en}"
            ) from None
    if year not in (None, plan.year, plan.year - 1):
        raise UsageError(
            f"年度須為 {plan.year} 或 {plan.year - 1} / year must be {plan.year} or {plan.year - 1}"
        )
    return Scope(plan, owner=owner, period_id=period_id, unit=unit, data_year=year)


def cmd_template(args: argparse.Namespace) -> int:
    """``kpi template [PLAN] -o FILE``: build the workbook staff fill in."""
    from workbook.collect.text import has_control, terminal_text
    from workbook.form.builder import write_template
    from workbook.odf import write_template_ods

    kind = output_format("template", args.output)
    for label, value in (("填報單位 / --unit", args.unit), ("承辦單位 / --owner", args.owner)):
        if value and has_control(value):
            raise UsageError(
                f"{label} 含有控制字元，請移除後再試：{terminal_text(value)} / "
                "contains control characters; remove them"
            )

    from workbook.formats.files import check_output_target, refuse_existing

    target = check_output_target(args.output)
    refuse_existing(target, force=args.force, holds=("已填寫的工作簿", "it may hold filled counts"))
    scope = _scope(args.plan, unit=args.unit or "", owner=args.owner, period=args.period, year=args.year)
    path = (write_template_ods if kind == "ods" else write_template)(scope, target)
    print(f"已產生填報工作簿 / template written: {path}")
    return EXIT_OK


def _calculate(
    path: str, plans: list[str], *, write: bool, output: str | None = None, engine: str = "openpyxl"
):
    """Check (and with ``write`` calculate and save) one workbook file: the one pipeline,
    :func:`workbook.books.open.calculate_path` (``--engine openpyxl`` is its file engine)."""
    from workbook.books.open import calculate_path

    return calculate_path(
        path,
        output,
        engine="libreoffice" if engine == "libreoffice" else "file",
        plans=[load_any(p) for p in plans],
        write=write,
    )


def _print_outcome(outcome, as_json: bool, full: bool = False) -> int:
    notes, saved = outcome.notes, outcome.saved
    if as_json:
        out = outcome.to_dict()
        if saved is not None:
            out["saved"] = str(saved)
        out["notes"] = [{"message_zh": zh, "message_en": en} for zh, en in notes]
        print(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        outcome.evaluation.findings = outcome.findings
        print_evaluation(outcome.evaluation, full=True if full else None)
        for name in outcome.restored:
            print(f"已還原公式 / formula restored: {name}")
        for zh, en in notes:
            print(f"注意 / note: {zh} / {en}", file=sys.stderr)
        if saved is not None:
            print(f"已儲存 / saved: {saved}")
    return EXIT_FINDINGS if outcome.has_errors else EXIT_OK


def cmd_calculate(args: argparse.Namespace) -> int:
    """``kpi calculate FILE [-o OUT]``: check, compute and write results into the workbook."""
    outcome = _calculate(args.file, args.plan or [], write=True, output=args.output, engine=args.engine)
    return _print_outcome(outcome, args.json, args.all)


def cmd_check(args: argparse.Namespace) -> int:
    """``kpi check FILE``: the same checks as calculate, read-only."""
    return _print_outcome(_calculate(args.file, args.plan or [], write=False), args.json, args.all)


def cmd_demo(args: argparse.Namespace) -> int:
    """``kpi demo [DIR]``: template, sample counts, calculate, Part 4 table."""
    from workbook.demo import demo_report, run_demo

    output_format("demo", args.dir)
    folder = Path(args.dir)
    outcome, blank, filled = run_demo(folder)
    print(f"{outcome.scope.plan.agency} 上({outcome.scope.year})年度實施狀況及成果概述 — 範例數據")
    outcome.evaluation.findings = outcome.findings
    print_evaluation(outcome.evaluation)
    print(f"空白範本 / blank template: {blank}")
    print(f"計算後工作簿 / calculated workbook: {filled}")
    for path in demo_report(Path(args.dir), filled):
        print(f"達成情形報告 / report: {path}")
    return EXIT_FINDINGS if outcome.has_errors else EXIT_OK


def cmd_addin(args: argparse.Namespace) -> int:
    """``kpi addin build [-o DIR]`` / ``kpi addin install``: the ribbon add-in (or, with
    ``--libreoffice``, the LibreOffice extension)."""
    if args.addin_command == "build":
        output_format("addin", args.output)
    if args.libreoffice:
        return _addin_libreoffice(args)
    if getattr(args, "lite", False):
        from workbook.buttons.lite import build_lite

        main_py, requirements = build_lite(Path(args.output))
        print(f"已產生 xlwings Lite 程式 / xlwings Lite script written: {main_py}, {requirements}")
        return EXIT_OK
    from workbook.buttons.addin import build_addin, install_addin

    if args.addin_command == "build":
        path = build_addin(Path(args.output))
        print(f"已產生增益集 / add-in built: {path}")
    else:
        path = install_addin()
        print(f"已安裝增益集，請重新啟動 Excel / add-in installed (restart Excel): {path}")
    return EXIT_OK


def _addin_libreoffice(args: argparse.Namespace) -> int:
    from workbook.buttons.oxt import build_oxt, install_oxt

    if args.addin_command == "build":
        path = build_oxt(Path(args.output))
        print(f"已產生 LibreOffice 擴充套件 / extension built: {path}")
    else:
        install_oxt(interpreter=sys.executable)  # this PC's Python, for the bridge's fallback only
        print(
            "已安裝 LibreOffice「計算」按鈕，請重新啟動 LibreOffice，於 Calc 選單「績效指標 → 計算」使用"
            " / extension installed; restart LibreOffice and use 績效指標 → 計算 in Calc"
        )
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    """``kpi collect PATH... -o SUMMARY.xlsx|.ods``: read, recompute, classify and consolidate."""
    from workbook.collect import collect, inputs_of, require_inputs, rich_progress
    from workbook.collect.inbox import guarded_inputs
    from workbook.formats.files import check_output_target
    from workbook.report.summary import CSV_NAMES, write_csv, write_summary
    from workbook.report.terminal import print_collection

    kind = output_format("summary", args.output)
    if args.csv:
        output_format("csv", args.csv)
    if args.archive:
        from workbook.report.archive import Archive

        archive_target(args.archive)
        with Archive.open(args.archive):  # another program's, damaged or newer: said before any work
            pass
    due = _roc_or_iso_date(args.due) if args.due else None
    require_inputs(args.paths)
    plans = [load_any(p) for p in args.plan] if args.plan else None
    inputs = inputs_of(args.paths)
    check_output_target(args.output, guarded_inputs(inputs, args.output))  # its own old summary: replaced
    if args.csv:
        for name in CSV_NAMES:
            check_output_target(Path(args.csv) / name, inputs)
    coll = collect(args.paths, plans, progress=None if args.json else rich_progress, due=due)
    from workbook.odf import write_summary_ods

    (write_summary_ods if kind == "ods" else write_summary)(coll, args.output)
    info = sys.stderr if args.json else sys.stdout
    if args.archive:
        from workbook.report.archive import ArchiveError, archive_collection

        try:
            added = archive_collection(args.archive, coll)
        except ArchiveError as exc:  # the summary is written: say so, and that the archive is not
            raise ArchiveError(
                f"{exc.message_zh}（彙總檔已寫入 {args.output}；彙整資料庫未更新）",
                f"{exc.message_en} (the summary {args.output} was written; the archive was not changed)",
                path=exc.path,
            ) from None
        print(
            f"彙整資料庫 / archive {args.archive}: 新增檔案 {added.files}、已收錄 {added.already}、"
            f"數據 {added.results} 筆、文字 {added.texts}、檢核 {added.findings}；"
            f"彙整儲存格 {added.cells}（取代舊值 {added.replaced}）",
            file=info,
        )
    if args.csv:
        write_csv(coll, args.csv, lang=args.csv_lang)
    if args.remind:
        from workbook.collect.remind import write_reminders

        sent = write_reminders(
            coll.returns, {p.id: p for p in coll.plans}, args.remind, due=due, inputs=inputs
        )
        print(f"催繳信 {len(sent)} 封 / reminders written: {len(sent)} → {args.remind}", file=info)
    if args.json:
        print(json.dumps(coll.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_collection(coll, args.output)
    ours = [s for s in coll.submissions if s.plan_id]  # our templates, of whichever plan
    if ours and all(s.status == "unknown_plan" for s in ours):
        looked = "、".join(f"{p.agency} {p.year} 年度（{p.source or p.id}）" for p in coll.plans)
        print(
            f"沒有檔案屬於所給計畫；已比對：{looked}。請以 --plan 指定計畫檔"
            f" / no file belongs to the plans looked for ({looked}); give the plan with --plan",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if any(s.status == "errors" for s in coll.submissions) else EXIT_OK


def _roc_or_iso_date(text: str):
    """``--due``: 2026-07-15, or the ROC 115-07-15 / 115/7/15."""
    import re as _re
    from datetime import date

    m = _re.fullmatch(r"(\d{2,4})[-/.](\d{1,2})[-/.](\d{1,2})", text.strip())
    try:
        if not m:
            raise ValueError(text)
        year = int(m.group(1))
        return date(year + 1911 if year < 1000 else year, int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise UsageError(
            f"--due 日期格式應為 115-07-15 或 2026-07-15：{text}",
            f"--due must be a date like 2026-07-15: {text}",
        ) from None


def _plan_io_parsers(plan_sub: Any) -> None:
    """``kpi plan export | new | import`` (workbook/plan_io)."""

    def run(name: str):
        def call(args: argparse.Namespace) -> int:
            from workbook.plan_io import commands

            output_format("plan", args.output)
            return getattr(commands, name)(args)

        return call

    export = plan_sub.add_parser("export", help="計畫轉為計畫設定活頁簿 / plan as an authoring workbook")
    _plan_arguments(export)
    export.add_argument("-o", "--output", required=True, help="計畫設定.xlsx、.ods 或 .yaml / output")
    export.set_defaults(func=run("cmd_plan_export"))
    new = plan_sub.add_parser("new", help="空白計畫設定活頁簿（含一列範例）/ empty authoring workbook")
    new.add_argument("-o", "--output", required=True, help="計畫設定.xlsx、.ods 或 .yaml / output")
    new.add_argument("--year", type=int, help="民國年度 / ROC year")
    new.set_defaults(func=run("cmd_plan_new"))
    imp = plan_sub.add_parser(
        "import", help="自計畫設定活頁簿或施政計畫文件匯入 / import a workbook or the plan document"
    )
    imp.add_argument("source", help="計畫設定.xlsx|.ods 或 施政計畫.docx|.odt")
    imp.add_argument("-o", "--output", required=True, help="PLAN.yaml 或 計畫設定.xlsx|.ods / output")
    imp.add_argument("--force", action="store_true", help=FORCE_HELP)
    imp.set_defaults(func=run("cmd_plan_import"))


def cmd_report(args: argparse.Namespace) -> int:
    """``kpi report PATH... -o FILE.odt|.docx|.pdf``: the Part 4 document."""
    from workbook.report.cli import run_report

    output_format("report", args.output)
    return run_report(args)


FORCE_HELP = "覆寫已存在的檔案 / overwrite an existing file"
PLAN_HELP = "計畫檔 .yaml、.xlsx 或 .ods（預設內建計畫）/ plan file: .yaml, .xlsx or .ods (default: embedded)"


def _plan_arguments(command: argparse.ArgumentParser) -> None:
    """A command's one plan: ``PLAN`` as before, or ``--plan PLAN`` as every other command takes it."""
    command.add_argument("plan", nargs="?", metavar="PLAN", help=PLAN_HELP)
    command.add_argument("--plan", dest="plan_option", metavar="PLAN", help=PLAN_HELP)


def _one_plan(args: argparse.Namespace) -> None:
    """``PLAN`` and ``--plan PLAN`` are one argument: merge them into ``args.plan``."""
    option = getattr(args, "plan_option", None)
    if option is None:
        return
    if args.plan is not None and args.plan != option:
        raise UsageError(
            f"計畫檔只能指定一個（收到 {args.plan} 與 --plan {option}）"
            f" / give one plan (got {args.plan} and --plan {option})"
        )
    args.plan = option


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``kpi``.

    Each subcommand's arguments are added when it is used (``fill``, see
    :class:`~workbook.cliparse.KpiArgumentParser`): the names and help lines are all here.
    """
    parser = KpiArgumentParser(
        prog="kpi",
        description="績效指標填報工作簿 KPI Workbook",
        epilog="檔名以「-」開頭時請放在 -- 之後 / put a file name that starts with '-' after --",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plan", help="計畫檔工具 / plan file tools", fill=_plan_parser)
    sub.add_parser("compute", help="以填報數據計算 / evaluate entered counts", fill=_compute_parser)
    sub.add_parser("template", help="產生填報工作簿 / build the template workbook", fill=_template_parser)
    sub.add_parser(
        "calculate", help="檢核並計算工作簿 / check and calculate a workbook", fill=_calculate_parser
    )
    sub.add_parser("check", help="只檢核不寫入 / check only, read-only", fill=_check_parser)
    sub.add_parser("addin", help="Excel 計算按鈕增益集 / the Excel ribbon add-in", fill=_addin_parser)
    sub.add_parser("collect", help="彙整寄回的工作簿 / consolidate returned workbooks", fill=_collect_parser)
    sub.add_parser(
        "report", help="產生達成情形報告 .odt/.docx/.pdf / write the Part 4 report", fill=_report_parser
    )
    sub.add_parser("demo", help="以內建計畫範例數據示範 / run the embedded plan's sample", fill=_demo_parser)
    return parser


def _plan_parser(plan: argparse.ArgumentParser) -> None:
    plan_sub = plan.add_subparsers(dest="plan_command", required=True)
    plan_sub.add_parser("check", help="檢查計畫檔 / validate a plan file", fill=_plan_check_parser)
    _plan_io_parsers(plan_sub)
    plan_sub.add_parser("rollover", help="產生下年度計畫 / next year's plan", fill=_rollover_parser)


def _plan_check_parser(check: argparse.ArgumentParser) -> None:
    _plan_arguments(check)
    check.add_argument("--json", action="store_true", help="以 JSON 輸出 / print JSON")
    check.set_defaults(func=cmd_plan_check)


def _rollover_parser(roll: argparse.ArgumentParser) -> None:
    _plan_arguments(roll)
    roll.add_argument("--to", type=int, required=True, help="新計畫的民國年度，例如 108 / the new year")
    roll.add_argument(
        "--archive", help="彙整資料庫：本年度全年度實績成為範例資料 / archive with this year's results"
    )
    roll.add_argument("--unit", help="取哪個填報單位的實績（預設唯一或機關本身）/ whose results")
    roll.add_argument(
        "-o",
        "--output",
        required=True,
        help="新計畫檔 .yaml、.xlsx 或 .ods / output plan file (.yaml, .xlsx or .ods)",
    )
    roll.add_argument("--force", action="store_true", help=FORCE_HELP)
    roll.set_defaults(func=cmd_plan_rollover)


def _compute_parser(compute: argparse.ArgumentParser) -> None:
    _plan_arguments(compute)
    compute.add_argument("--entries", required=True, help="填報數據 YAML/JSON / entries file")
    compute.add_argument("--targets", choices=["current", "previous"], help="以本年度或上年度目標值評估")
    compute.add_argument("--year", type=int, help="數據所屬民國年度 / ROC year of the counts")
    compute.add_argument("--json", action="store_true", help="以 JSON 輸出 / print JSON")
    compute.set_defaults(func=cmd_compute)


def _template_parser(template: argparse.ArgumentParser) -> None:
    _plan_arguments(template)
    template.add_argument(
        "-o", "--output", required=True, help="輸出 .xlsx 或 .ods（依副檔名）/ output file (.xlsx or .ods)"
    )
    template.add_argument("--force", action="store_true", help=FORCE_HELP)
    template.add_argument("--unit", help="填報單位 / reporting unit")
    template.add_argument("--owner", help="承辦單位：只含該單位的指標 / only this section's indicators")
    template.add_argument("--period", help="期別：上半年 或 全年度 / only this period")
    template.add_argument(
        "--year", type=int, help="數據年度（上年度則以上年度目標值）/ ROC year of the counts"
    )
    template.set_defaults(func=cmd_template)


def _workbook_arguments(cmd: argparse.ArgumentParser) -> None:
    """What ``calculate`` and ``check`` both take."""
    cmd.add_argument("file", help="填報工作簿 .xlsx 或 .ods / workbook")
    cmd.add_argument("--plan", action="append", help="計畫檔（可重複）/ plan file (repeatable)")
    cmd.add_argument("--json", action="store_true", help="以 JSON 輸出 / print JSON")
    cmd.add_argument(
        "--all",
        action="store_true",
        help="列出全部指標（超過 20 項時預設只列需注意者）/ the full table (above 20 indicators only those that need attention are listed)",
    )


def _calculate_parser(cmd: argparse.ArgumentParser) -> None:
    _workbook_arguments(cmd)
    cmd.add_argument("-o", "--output", help="另存新檔 / write to this file instead")
    cmd.add_argument(
        "--engine",
        choices=["openpyxl", "libreoffice"],
        default="openpyxl",
        help="以檔案（預設）或 LibreOffice 計算 / calculate the file (default) or inside LibreOffice",
    )
    cmd.set_defaults(func=cmd_calculate)


def _check_parser(cmd: argparse.ArgumentParser) -> None:
    _workbook_arguments(cmd)
    cmd.set_defaults(func=cmd_check)


def _addin_parser(addin: argparse.ArgumentParser) -> None:
    addin_sub = addin.add_subparsers(dest="addin_command", required=True)
    build = addin_sub.add_parser("build", help="產生 macros.xlam / build the add-in")
    build.add_argument("-o", "--output", default=".", help="輸出資料夾 / output folder")
    build.set_defaults(func=cmd_addin)
    install = addin_sub.add_parser("install", help="安裝到 Excel 啟動資料夾 / install into XLSTART")
    install.set_defaults(func=cmd_addin)
    for command in (build, install):
        command.add_argument(
            "--libreoffice",
            action="store_true",
            help="LibreOffice 擴充套件 kpi-workbook.oxt（以 unopkg 安裝）/ the LibreOffice extension",
        )
    build.add_argument(
        "--lite",
        action="store_true",
        help="xlwings Lite 用的 main.py 與 requirements.txt（Excel 不需安裝 Python）/ the xlwings Lite script",
    )


def _collect_parser(coll: argparse.ArgumentParser) -> None:
    coll.add_argument("paths", nargs="+", help="工作簿、資料夾、.zip、.eml、.msg")
    coll.add_argument("-o", "--output", required=True, help="彙總工作簿 .xlsx 或 .ods / summary workbook")
    coll.add_argument(
        "--plan", action="append", help="計畫檔（可重複；預設內建計畫）/ plan file (repeatable)"
    )
    coll.add_argument("--csv", help="另存 CSV 的資料夾 / also write CSV files here")
    coll.add_argument(
        "--csv-lang",
        choices=("zh", "en"),
        default="zh",
        help="CSV 欄名與代碼：zh 中文（預設）、en 英文代碼 / CSV headers and codes: zh (default) or en",
    )
    coll.add_argument("--archive", help="同時存入彙整資料庫 .sqlite / also add everything to this archive")
    coll.add_argument(
        "--due", help="繳交期限，例如 115-07-15；逾期未繳者標示逾期 / due date (overdue after it)"
    )
    coll.add_argument(
        "--remind", help="為每個未繳單位寫一封催繳信 .eml 到此資料夾 / write one reminder per missing unit"
    )
    coll.add_argument("--json", action="store_true", help="以 JSON 輸出 / print JSON")
    coll.set_defaults(func=cmd_collect)


def _report_parser(rep: argparse.ArgumentParser) -> None:
    rep.add_argument("paths", nargs="*", help="計算後工作簿、資料夾、.zip、.eml、.msg")
    rep.add_argument("-o", "--output", required=True, help="報告檔 .odt（預設格式）、.docx 或 .pdf")
    rep.add_argument("--period", help="期別：上半年 或 全年度（預設最新一期）/ period")
    rep.add_argument("--year", type=int, help="數據民國年度（預設最新）/ ROC year of the data")
    rep.add_argument("--plan", action="append", help="計畫檔（可重複；預設內建計畫）/ plan file (repeatable)")
    rep.add_argument("--archive", help="彙整資料庫 .sqlite（取代或補充 PATH）/ archive to read")
    rep.add_argument("--compare", type=int, help="比較年度，例如 106（需 --archive）/ year to compare with")
    rep.add_argument("--font", help="字型（預設 標楷體）/ font family")
    rep.add_argument(
        "--form",
        choices=("review", "plan"),
        default="review",
        help="review：管考檢視（實際值、達成率、燈號、加權分數，預設）；plan：計畫書第四部分四欄格式 / "
        "review (default): the 管考 view; plan: Part 4 as the plan prints it",
    )
    rep.set_defaults(func=cmd_report)


def _demo_parser(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("dir", nargs="?", default="kpi-demo", help="輸出資料夾 / output folder")
    demo.set_defaults(func=cmd_demo)


def _wants_json(argv: list[str]) -> bool:
    return "--json" in (argv[: argv.index("--")] if "--" in argv else argv)


def _error_json(exc: Exception) -> str:
    error: dict[str, Any] = {
        "code": getattr(exc, "code", "unusable"),
        "type": type(exc).__name__,
        "message": str(exc),
    }
    for key in ("message_zh", "message_en", "path", "sheet", "cell"):
        if getattr(exc, key, None) is not None:
            error[key] = getattr(exc, key)
    return json.dumps({"ok": False, "error": error}, ensure_ascii=False, indent=2)


def _report_error(exc: KpiError, as_json: bool) -> int:
    """Print ``exc`` for people (stderr: zh-TW, then English) and, with --json, for scripts (stdout)."""
    # A plan's error lists its issues under a heading of its own; every other error is one line.
    print(exc if isinstance(exc, PlanError) else f"錯誤 / error: {exc}", file=sys.stderr)
    if as_json:  # stdout stays machine-readable; stderr keeps the message for people
        print(_error_json(exc))
    sys.stdout.flush()
    return EXIT_UNUSABLE


_NAME_ERRORS = "kpi.shown-name"
_NAME_END = r"[\s/\\:\[\]]"  # compiled on first use: only an unprintable name needs it


def _shown_name_bytes(exc: UnicodeError) -> tuple[str | bytes, int]:
    """Print a file name's undecodable bytes (a Big5 name from a Windows share) as its
    characters when they read as Big5, else as ``\\xNN`` — never as 「??」.

    The rest of the name up to a separator is decoded with them: Big5 bytes often pair
    up as valid UTF-8 (「秘書處」 shows as 「\\xaf\\xb5\\xaeѳB」 otherwise).
    """
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    end = re.compile(_NAME_END).search(exc.object, exc.start)
    stop = end.start() if end else len(exc.object)
    raw = exc.object[exc.start : stop].encode("utf-8", "surrogateescape")
    from workbook.collect.text import decode_name  # only here: importing collect costs every command

    # Bytes, not text: CPython's UTF-8 encoder takes only ASCII text from a handler.
    return decode_name(raw).encode("utf-8", "backslashreplace"), stop


def _one_shot() -> None:
    """This process runs one command and ends: spare the garbage collector's sweeps (issue 25).

    A loaded .xlsx is frozen out of the collector (:data:`workbook.books.file.one_shot`),
    and at exit everything is: the interpreter's teardown then frees no object graph one
    by one (1.5 of 8 CPU-s at 200 indicators).  Nothing depends on it: every output is
    written, closed and renamed before :func:`main` returns, and the standard streams and
    log handlers are flushed at exit as always.
    """
    import atexit
    import gc

    from workbook.books import file

    file.one_shot = True
    # Young collections every 10,000 new objects, not 700: a calculate allocates millions of
    # short-lived ones (engine values, XML pieces) and the sweeps cost ~5% of it (issue 24).
    gc.set_threshold(10_000, *gc.get_threshold()[1:])
    atexit.register(gc.freeze)


def main(argv: list[str] | None = None) -> int:
    """Run the ``kpi`` command; returns the exit code. Never lets a traceback reach staff.

    The one handler: a :class:`KpiError` (every error this project raises for people)
    and any :class:`OSError` (permission denied, disk full, no such file…) print zh-TW
    then English, naming the file, and give 2; Ctrl-C gives 「已中止 / aborted」 and 130
    (every writer goes through a temporary file and a rename, so nothing half-written
    is left), SIGTERM and SIGHUP the same with 143 and 129 (:mod:`workbook.interrupts`);
    a closed pipe ends quietly with 141.
    """
    codecs.register_error(_NAME_ERRORS, _shown_name_bytes)
    if not os.environ.get("KPI_DEBUG"):
        # A writer's generator or zip collected after the error was already reported (a full
        # temporary folder inside openpyxl) would print "Exception ignored … Traceback".
        sys.unraisablehook = lambda _unraisable: None
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):  # Windows consoles default to a legacy code page
            stream.reconfigure(encoding="utf-8", errors=_NAME_ERRORS)
    from_command_line = argv is None
    if from_command_line:
        _one_shot()
        stop_on_termination()  # SIGTERM/SIGHUP stop as Ctrl-C does: LibreOffice and temporary files go
    argv = list(sys.argv[1:] if argv is None else argv)
    as_json = _wants_json(argv)
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except ArgumentUsageError as exc:
            hint = dash_file_hint(argv, parser)
            print(exc.usage.rstrip(), file=sys.stderr)
            print(f"錯誤 / error: {exc}", file=sys.stderr)
            if hint:
                print(f"提示 / hint: {hint}", file=sys.stderr)
            if as_json:
                print(_error_json(exc))
            return EXIT_UNUSABLE
        try:
            _one_plan(args)
            code = int(args.func(args))
            sys.stdout.flush()  # a closed pipe shows up here, inside the handler below
            return code
        except BrokenPipeError:
            raise
        except KpiError as exc:
            return _report_error(exc, as_json)
        except OSError as exc:  # whatever the OS refused, wherever: the path and what to do
            from workbook.errors import os_error

            return _report_error(os_error(exc), as_json)
    except BrokenPipeError:
        # The reader went away (kpi … | head): stop quietly, as Unix tools do, and keep
        # Python from failing again while flushing stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as stop:
        # a second Ctrl-C, or a reader gone, must not turn the goodbye into a traceback
        with no_interrupt(), contextlib.suppress(OSError):
            print("\n已中止 / aborted", file=sys.stderr)
            if as_json:
                print(_error_json(KpiError("已中止", "aborted", code="interrupted")))
        if from_command_line:  # the process exits next: one more Ctrl-C must not interrupt that
            ignore_interrupts()
        return getattr(stop, "exit_code", EXIT_INTERRUPTED)  # 143 for SIGTERM (Terminated)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
