"""``kpi report``: collected workbooks (or the archive) to the Part 4 document."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kpi_engine.narrative import number_text
from kpi_engine.report_model import UNREPORTED
from workbook.formats.files import check_output_target
from workbook.plan_io import load_any
from workbook.report.charts import charts_if_available
from workbook.report.document import write_report
from workbook.report.errors import ReportError
from workbook.report.gather import from_collection, make_report
from workbook.report.layout import DEFAULT_FORM


def run_report(args: argparse.Namespace) -> int:
    """Collect (or read the archive), build the report once, write it; 0 on success.

    ``kpi report`` has decided the format by the output's name first (``workbook.outputs``).
    """
    out = Path(args.output)
    if not args.paths and not args.archive:
        raise ReportError("請指定工作簿或 --archive / give workbooks or --archive")
    if args.compare and not args.archive:
        raise ReportError("--compare 需要 --archive（上年度資料存於彙整資料庫）/ --compare needs --archive")
    from workbook.collect import require_inputs

    require_inputs(args.paths)
    check_output_target(out, args.paths)
    plans = [load_any(p) for p in args.plan] if args.plan else None  # YAML, .xlsx or .ods
    if args.paths:
        from workbook.collect import collect, rich_progress
        from workbook.report.from_summary import read_summary, split_paths

        workbooks, summaries = split_paths(args.paths)
        data, known, sources = {}, {}, []
        if workbooks:
            coll = collect(workbooks, plans, progress=rich_progress)
            data = from_collection(coll)
            known = {p.id: p for p in coll.plans}
            sources = [s.source for s in coll.submissions]
        for summary in summaries:  # counts recomputed with the plan given (default: embedded)
            plan = (plans or [load_any(None)])[0]
            known.setdefault(plan.id, plan)
            for key, units in read_summary(summary, plan).items():
                data.setdefault(plan.id, {}).setdefault(key, {}).update(units)
            sources.append(str(summary))
    else:
        from workbook.report.archive import Archive

        with Archive.open(args.archive, create=False) as arc:
            coll = arc.collection(plans, args.year)
        known, data = {p.id: p for p in coll.plans}, from_collection(coll)
        sources = [args.archive]
    previous, compare_year = None, None
    if args.compare:
        from workbook.report.archive import Archive

        with Archive.open(args.archive, create=False) as arc:
            previous = arc.results(year=args.compare)
        compare_year = args.compare
        if not previous:
            print(
                f"注意：彙整資料庫沒有 {args.compare} 年度的資料，比較欄將為「—」"
                f" / warning: the archive has no {args.compare} data; the comparison columns will be empty",
                file=sys.stderr,
            )
    report = make_report(
        known,
        data,
        year=args.year,
        period=args.period,
        previous=previous,
        compare_year=compare_year,
        sources=sources,
    )
    charts = charts_if_available(report)
    form = getattr(args, "form", None) or DEFAULT_FORM
    write_report(report, out, None if form == "plan" else charts, font=args.font, form=form)
    units = len(report.units)
    print(f"{report.agency} {report.heading}（{report.period_name}，{units} 個填報單位）")
    for section in report.units:
        s = section.plan_score
        score, assessed, weight = (number_text(x) for x in (s.score, s.assessed_weight, s.weight))
        print(f"  {section.unit}: 加權得分 {score} / 已評估權重 {assessed}（計畫權重 {weight}）")
        if section.left_out:
            names = "、".join(line.name for line in section.lines if line.sentence.startswith(UNREPORTED))
            print(
                f"    未填報 / not returned: {names}（權重 {number_text(section.left_out)}% 未計入 / weight left out）"
            )
    unset = [i.name for p in known.values() if p.year == args.year for i in p.indicators if i.target.unset]
    if unset:  # a draft year's plan: results are reported, nothing is scored against a target
        print(
            f"  目標值待設定 {len(unset)} 項，不計分 / targets still to set, not scored: {'、'.join(unset)}"
        )
    print(f"  {report.weight_note}")
    if out.suffix.lower() == ".pdf" and not args.font:
        from workbook.report.layout import DOCUMENT_FONT, rendering_font

        font = rendering_font()
        if font != DOCUMENT_FONT:
            print(
                f"  PDF 字型 / font: {font}（本機無{DOCUMENT_FONT} / {DOCUMENT_FONT} is not installed here）"
            )
    print(f"已產生報告 / report written: {out}")  # as the user named it (LibreOffice answers absolute)
    return 0
