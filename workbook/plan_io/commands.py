"""``kpi plan export | new | import``: move a plan between YAML, the authoring workbook and documents.

Also what ``kpi plan import`` and ``kpi plan rollover`` both refuse: replacing a plan someone
edited (without ``--force``), and a year no ROC plan has."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from kpi_engine import PlanError, parse_plan
from kpi_engine.errors import KpiError
from kpi_engine.plan_loader import dump_plan
from workbook.formats.files import atomic_text, check_output_target, refuse_existing
from workbook.plan_io import DOCUMENT_SUFFIXES, WORKBOOK_SUFFIXES, load_any
from workbook.plan_io.authoring import example_data, write_plan_workbook
from workbook.plan_io.reading import locate, plan_from_data, read_plan_data

YAML_SUFFIXES = (".yaml", ".yml")
EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE = 0, 1, 2
#: What a plan file at the output may hold, for the refusal to replace it without --force.
EDITED_PLAN = ("已編輯的計畫", "it may hold the plan as someone edited it")
#: The ROC years a plan may be for (民國 1–200: 1912–2111).
ROC_YEARS = range(1, 201)


class PlanUsageError(KpiError, ValueError):
    """A wrong output name or source type; printed without a traceback."""

    code = "usage"


def _output_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return "yaml"
    if suffix in (".xlsx", ".ods"):
        return "workbook"
    raise PlanUsageError(
        f"輸出檔名須為 .yaml、.xlsx 或 .ods / the output must end in .yaml, .xlsx or .ods: {path}"
    )


def check_next_year(year: int, to: int) -> None:
    """Refuse a ``--to`` year that is not after the plan's ``year`` or is no sane ROC year."""
    if to <= year:
        raise PlanUsageError(f"--to 須晚於計畫年度 {year}", f"--to must be after {year}")
    if to not in ROC_YEARS:
        raise PlanUsageError(
            f"--to {to} 不是合理的民國年度（{ROC_YEARS.start}–{ROC_YEARS.stop - 1}），例如 {year + 1}",
            f"--to {to} is not a ROC year ({ROC_YEARS.start}–{ROC_YEARS.stop - 1}); for example {year + 1}",
        )


def write_plan_data(data: dict, out: Path, *, inputs: tuple[Path, ...] = (), note: str = "") -> Path:
    """Write plan data as YAML or as an authoring workbook, chosen by ``out``'s extension."""
    kind = _output_kind(out)
    check_output_target(out, inputs)
    if kind == "workbook":
        return write_plan_workbook(data, out)
    header = "# 施政計畫定義檔（KPI Workbook plan）" + (f"；{note}" if note else "") + "\n"
    header += "# 格式說明見 templates/plan.schema.json；修改後請執行 kpi plan check 檢查。\n"
    with atomic_text(out, encoding="utf-8", newline="\n") as fh:
        fh.write(header + dump_plan(data))
    return out


def validate(data: dict, out: Path) -> list:
    """The plan's issues, located in what was written: YAML lines, or workbook sheet and cell."""
    try:
        if _output_kind(out) == "workbook":  # read back what was written: issues name its cells
            written, cells = read_plan_data(out)
            plan_from_data(written, cells, str(out))
        else:
            parse_plan(dump_plan(data), source=str(out))
    except PlanError as exc:  # an AuthoringError's issues name sheet and cell
        return list(exc.issues)
    return []


def _report(out: Path, issues: list) -> int:
    print(f"已寫入 / written: {out}")
    if not issues:
        print("計畫檔正確 / plan OK")
        return EXIT_OK
    review = sum(1 for i in issues if i.code == "needs_review")
    print(
        f"尚有 {len(issues)} 項須處理（其中待確認 {review} 項）/ {len(issues)} issues to fix ({review} need review):"
    )
    for issue in issues:
        print(f"  - {issue}")
    return EXIT_FINDINGS


def cmd_plan_export(args: argparse.Namespace) -> int:
    """``kpi plan export [PLAN] -o OUT``: a plan as an authoring workbook (or YAML)."""
    data, unset = plan_data(args.plan)
    sources = (Path(args.plan),) if args.plan else ()
    out = write_plan_data(data, Path(args.output), inputs=sources)
    print(f"已產生計畫設定檔 / plan written: {out}")
    if unset:  # a rolled-over plan: its targets are typed into the workbook, not YAML
        print(f"  目標值待設定 {len(unset)} 項 / targets still to set: {len(unset)}")
        for issue in unset:
            print(f"  - {issue}")
    return EXIT_OK


def plan_data(source: str | Path | None) -> tuple[dict, list]:
    """A plan's data, and its 「待設定」 targets: a plan whose only issues are unset targets
    (next year's, after ``kpi plan rollover``) is still exported, so they can be set in the workbook."""
    try:
        plan = load_any(source)
        return yaml.safe_load(plan.text), list(plan.pending)  # 待設定 targets load; they are listed
    except PlanError as exc:
        if source is None or not exc.issues or any(i.code != "target_unset" for i in exc.issues):
            raise
        if Path(source).suffix.lower() in WORKBOOK_SUFFIXES:
            data, _ = read_plan_data(Path(source))
        else:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        return data, list(exc.issues)


def cmd_plan_new(args: argparse.Namespace) -> int:
    """``kpi plan new -o OUT``: an empty authoring workbook with one example row."""
    data = example_data(args.year) if args.year else example_data()
    out = write_plan_data(data, Path(args.output))
    print(f"已產生空白計畫設定檔（含一列範例）/ empty plan with one example row: {out}")
    return EXIT_OK


def cmd_plan_import(args: argparse.Namespace) -> int:
    """``kpi plan import SOURCE -o OUT``: from an authoring workbook or the plan document."""
    src, out = Path(args.source), Path(args.output)
    _output_kind(out)
    refuse_existing(check_output_target(out, (src,)), force=args.force, holds=EDITED_PLAN)
    suffix = src.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        data, cells = read_plan_data(src)
        note = f"由 {src.name} 轉出"
    elif suffix in DOCUMENT_SUFFIXES:
        from workbook.plan_io.docimport import import_with_listing

        data, listing = import_with_listing(src)
        for zh, en in listing:  # note and section rows: recognised, not read as indicators
            print(f"{zh} / {en}")
        note = f"由 {src.name} 匯入；標記 needs_review 的欄位請確認"
    elif suffix in YAML_SUFFIXES:
        data = yaml.safe_load(load_any(src).text)
        note = ""
    else:
        raise PlanUsageError(
            f"無法匯入此類檔案（可匯入 .xlsx、.ods、.docx、.odt、.yaml）/ cannot import {src.suffix or src.name}"
        )
    write_plan_data(data, out, inputs=(src,), note=note)
    issues = validate(data, out)
    if suffix in WORKBOOK_SUFFIXES and _output_kind(out) == "yaml" and issues:
        issues = locate(issues, cells)  # name the cells the coordinator typed into
    return _report(out, issues)
