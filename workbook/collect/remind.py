"""``kpi collect --remind DIR``: one ready-to-send email per unit whose return is missing.

Each reminder is an ``.eml`` the coordinator opens and sends (``X-Unsent: 1`` makes
Outlook and Thunderbird open it as a draft): addressed to the unit's ``email`` and
greeting its ``contact`` when the plan's ``units`` give them (a unit without an address
is named on the terminal: its To is left for the coordinator), from and replying to the plan's ``submit_to``, in zh-TW, naming what is
missing and the due date, with the unit's template attached (its section's template
when only one section is missing).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from datetime import date
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from kpi_engine import Plan
from kpi_engine.consolidate import Return
from workbook.form import layout as L
from workbook.form.builder import template_bytes
from workbook.formats.files import check_output_target, save_atomic

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def roc_date(d: date) -> str:
    """「115年7月15日」."""
    return f"{d.year - 1911}年{d.month}月{d.day}日"


def _safe(name: str) -> str:
    return "".join("_" if c in '<>:"/\\|?*' or ord(c) < 32 else c for c in name).strip(" .") or "unit"


def reminder(plan: Plan, unit: str, owed: list[Return], *, due: date | None) -> EmailMessage:
    """The reminder to ``unit`` for the returns ``owed`` (all of one year and period)."""
    first = owed[0]
    given = plan.contact(unit)
    address = given.email if given else ""
    period = plan.period(first.period) if first.period else None
    when = f"{first.year}年度{period.name if period else ''}"
    msg = EmailMessage()
    msg["Subject"] = f"【績效指標填報提醒】{plan.agency} {when}：{unit}尚未繳交"
    if address:
        msg["To"] = Address(given.contact or unit, addr_spec=address) if given else address
    if plan.options.submit_to:
        msg["From"] = msg["Reply-To"] = plan.options.submit_to
    msg["Date"] = formatdate(localtime=True)
    msg["X-Unsent"] = "1"
    dear = f"{unit} {given.contact} 您好：" if given and given.contact else f"{unit} 承辦同仁您好："
    lines = [dear, "", f"{plan.agency} {when}績效指標填報，下列項目尚未收到："]
    for r in owed:
        names = "、".join(plan.indicator(i).name for i in r.indicators)
        lines.append(f"  ・{r.owner}（{r.label}）：{names}")
    lines.append("")
    lines.append(f"請於 {roc_date(due)} 前" if due else "請儘速")
    lines[-1] += "填寫附件工作簿之淡黃色儲存格，按「計算」並存檔後，以電子郵件回覆本信。"
    if not plan.options.submit_to:
        lines.append("（本計畫未設定寄回地址 options.submit_to，寄出前請確認寄件者。）")
    lines += [
        "",
        "績效指標彙整窗口 敬上",
        "",
        f"This is a reminder: {unit} has not yet returned its KPI workbook.",
    ]
    msg.set_content("\n".join(lines))
    owners = {r.owner for r in owed}
    owner = next(iter(owners)) if len(owners) == 1 and len(plan.owners) > 1 else None
    scope = L.Scope(plan, owner=owner, period_id=first.period or None, unit=unit, data_year=first.year)
    name = f"{plan.agency}_{first.year}_{period.name if period else ''}_{unit}{'_' + owner if owner else ''}.xlsx"
    msg.add_attachment(
        template_bytes(scope), maintype=XLSX.split("/")[0], subtype=XLSX.split("/")[1], filename=name
    )
    return msg


def write_reminders(
    returns: Iterable[Return],
    plans: dict[str, Plan],
    folder: str | Path,
    *,
    due: date | None = None,
    inputs: Iterable[str | Path] = (),
    say: Callable[[str], object] | None = None,
) -> list[Path]:
    """One ``.eml`` per unit (and year and period) whose return (or a section's) never came; the paths.

    Each unit the plan gives no address for is named through ``say`` (stderr by default).
    """
    say = say or (lambda line: print(line, file=sys.stderr))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    owed: dict[tuple[str, str, int, str], list[Return]] = {}
    for r in returns:
        if r.unreturned:
            owed.setdefault((r.plan_id, r.unit, r.year, r.period), []).append(r)
    written = []
    for (plan_id, unit, year, period), items in owed.items():
        plan = plans[plan_id]
        msg = reminder(plan, unit, items, due=due)
        if "To" not in msg:
            say(
                f"  {unit}：計畫未列此單位的電子郵件（units 的 email），催繳信收件者請自行填寫 / "
                f"no address for {unit} in the plan's units: fill in the reminder's To"
            )
        pname = plan.period(period).name if period else ""
        path = folder / f"{_safe(unit)}_{year}{pname}_填報提醒.eml"
        check_output_target(path, inputs)
        written.append(save_atomic(bytes(msg), path))
    return written
