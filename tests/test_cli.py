"""The installed ``kpi`` command, run as staff would run it.

Every command runs in a fresh temporary folder (not the checkout), so passing tests
prove that the embedded plan ships inside the installed package.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cli_support import kpi, kpi_executable

from kpi_engine.plan_loader import default_plan_path

KPI = kpi_executable()

SEED_ENTRIES_YAML = """\
targets: previous        # 以上年度目標值評估
year: 106
entries:
  上半年:
    volunteer_growth: {current: null, previous: null}
    procurement_pass_rate: {numerator: 187, denominator: 210}
    e_tender_rate: {numerator: 10, denominator: 10}
    failed_tender_rate: {numerator: 48, denominator: 643}
    safety_defects: {count: 63}
"""

INDICATOR_KEYS = {
    "indicator",
    "period",
    "value",
    "target",
    "achieved",
    "achievement_rate",
    "light",
    "at_risk",
    "sentence",
}
FINDING_KEYS = {"code", "severity", "indicator", "input", "sheet", "cell", "message_zh", "message_en"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------
# kpi plan check
# ---------------------------------------------------------------------------


def test_plan_check_embedded(tmp_path):
    proc = kpi("plan", "check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (
        "計畫檔正確 / plan OK: 臺中市政府秘書處 107 年度施政計畫（taichung_secretariat_107）" in proc.stdout
    )
    assert "目標 3 項、指標 5 項、重要施政計畫項目 26 項" in proc.stdout
    assert "本計畫指標權重合計 70%，其餘 30% 屬計畫外之共同性指標" in proc.stdout


def test_plan_check_json(tmp_path):
    proc = kpi("plan", "check", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is True and out["plan"] == "taichung_secretariat_107"
    assert len(out["fingerprint"]) == 64
    assert out["weight_warning"]["weight_total"] == 70


def test_plan_check_a_copy_of_the_template(tmp_path):
    plan = tmp_path / "我的計畫.yaml"
    shutil.copyfile(default_plan_path(), plan)
    proc = kpi("plan", "check", str(plan), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_plan_check_broken_plan_names_the_line(tmp_path):
    text = default_plan_path().read_text(encoding="utf-8")
    broken = text.replace("system: 1                    # 評估體制", "system: 7", 1)
    assert broken != text
    line = broken[: broken.index("system: 7")].count("\n") + 1
    plan = write(tmp_path / "broken.yaml", broken)
    proc = kpi("plan", "check", "broken.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert f"第 {line} 行 line {line}" in proc.stderr
    assert "goals[0].indicators[0].system" in proc.stderr
    assert "broken.yaml" in proc.stderr
    assert proc.stdout == ""
    assert plan.exists()


def test_plan_check_yaml_syntax_error_names_the_line(tmp_path):
    text = default_plan_path().read_text(encoding="utf-8")
    broken = text.replace("weight: 40\n", "weight: [40\n", 1)
    write(tmp_path / "broken.yaml", broken)
    proc = kpi("plan", "check", "broken.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "YAML" in proc.stderr and " 行 line " in proc.stderr


def test_plan_check_missing_file(tmp_path):
    proc = kpi("plan", "check", "no_such_plan.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "無法讀取檔案" in proc.stderr and "no_such_plan.yaml" in proc.stderr


# ---------------------------------------------------------------------------
# kpi compute
# ---------------------------------------------------------------------------


def compute_json(tmp_path: Path, entries_name: str, *extra: str) -> tuple[int, dict, str]:
    proc = kpi("compute", "--entries", entries_name, "--json", *extra, cwd=tmp_path)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout.strip() else {}, proc.stderr


def check_seed_output(out: dict) -> None:
    by_id = {r["indicator"]: r for r in out["indicators"]}
    for r in out["indicators"]:
        assert set(r) >= INDICATOR_KEYS
        assert r["period"] == "H1"
    for f in out["findings"]:
        assert set(f) >= FINDING_KEYS
    assert by_id["procurement_pass_rate"]["value"] == 89.05
    assert by_id["procurement_pass_rate"]["achievement_rate"] == 100
    assert by_id["procurement_pass_rate"]["target"] == "82%"
    assert by_id["procurement_pass_rate"]["achieved"] is True
    assert by_id["procurement_pass_rate"]["light"] == "green"
    assert by_id["procurement_pass_rate"]["sentence"] == (
        "截至6月30日止，參訓人數210人，取得及格證書187人，及格率89.05%(187人/210人)，達原訂目標值，達成率100%。"
    )
    assert by_id["e_tender_rate"]["value"] == 100
    assert by_id["failed_tender_rate"]["value"] == 7.47
    assert by_id["failed_tender_rate"]["target"] == "12%"
    assert by_id["safety_defects"]["value"] == 63
    assert by_id["safety_defects"]["at_risk"] is False
    assert by_id["safety_defects"]["target"] == "≤135"
    assert by_id["volunteer_growth"]["value"] is None
    assert by_id["volunteer_growth"]["light"] == "white"
    assert [(f["code"], f["severity"], f["indicator"], f["input"]) for f in out["findings"]] == [
        ("missing", "warning", "volunteer_growth", "current"),
        ("missing", "warning", "volunteer_growth", "previous"),
    ]
    assert out["findings"][0]["message_zh"] == "今年志工總人數尚未填寫"
    assert out["findings"][0]["message_en"] == "今年志工總人數 is not filled in yet"
    assert out["weight_warning"]["weight_total"] == 70
    plan_score = next(s for s in out["scores"] if s["id"] == "taichung_secretariat_107")
    assert (plan_score["weight"], plan_score["assessed_weight"], plan_score["score"]) == (70, 55, 55)


def test_compute_seed_counts_yaml(tmp_path):
    write(tmp_path / "e.yaml", SEED_ENTRIES_YAML)
    code, out, err = compute_json(tmp_path, "e.yaml")
    assert code == 0, err
    assert out["plan"]["id"] == "taichung_secretariat_107"
    check_seed_output(out)


def test_compute_seed_counts_json(tmp_path):
    import yaml

    doc = yaml.safe_load(SEED_ENTRIES_YAML)
    write(tmp_path / "e.json", json.dumps(doc, ensure_ascii=False, indent=2))
    code, out, err = compute_json(tmp_path, "e.json")
    assert code == 0, err
    check_seed_output(out)


def test_compute_targets_and_year_on_the_command_line(tmp_path):
    # The same counts, options given as flags instead of in the file.
    body = SEED_ENTRIES_YAML.replace("targets: previous        # 以上年度目標值評估\nyear: 106\n", "")
    write(tmp_path / "e.yaml", body)
    code, out, err = compute_json(tmp_path, "e.yaml", "--targets", "previous", "--year", "106")
    assert code == 0, err
    check_seed_output(out)
    # Against 107's targets, the pass rate 89.05% also meets 83%, but the 63 defects
    # project to 127 > 120: at risk, 120×100/127 = 94.49.
    code, out, err = compute_json(tmp_path, "e.yaml", "--year", "107")
    by_id = {r["indicator"]: r for r in out["indicators"]}
    assert code == 0, err
    assert by_id["procurement_pass_rate"]["target"] == "83%"
    assert (by_id["safety_defects"]["at_risk"], by_id["safety_defects"]["achievement_rate"]) == (True, 94.49)


def test_compute_plain_text_table(tmp_path):
    write(tmp_path / "e.yaml", SEED_ENTRIES_YAML)
    proc = kpi("compute", "--entries", "e.yaml", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "89.05" in proc.stdout and "7.47" in proc.stdout


def test_compute_error_finding_exits_1(tmp_path):
    write(
        tmp_path / "e.yaml",
        "entries:\n  上半年:\n    procurement_pass_rate: {numerator: 211, denominator: 210}\n",
    )
    code, out, _ = compute_json(tmp_path, "e.yaml")
    assert code == 1
    [f] = out["findings"]
    assert f == {
        "code": "numerator_gt_denominator",
        "severity": "error",
        "indicator": "procurement_pass_rate",
        "input": "numerator",
        "period": "H1",
        "message_zh": "取得證照人數（211）大於受訓總人數（210）",
        "message_en": "取得證照人數 (211) exceeds 受訓總人數 (210)",
        "sheet": None,
        "cell": None,
    }


def test_compute_warnings_only_exit_0(tmp_path):
    write(tmp_path / "e.yaml", "entries:\n  H1:\n    safety_defects: {count: '１２'}\n")
    code, out, _ = compute_json(tmp_path, "e.yaml")
    assert code == 0
    assert [f["code"] for f in out["findings"]] == ["fullwidth_digits"]


def test_compute_entries_without_the_entries_key(tmp_path):
    write(tmp_path / "e.yaml", "H1:\n  safety_defects: {count: 63}\n")
    code, out, err = compute_json(tmp_path, "e.yaml")
    assert code == 0, err
    assert out["indicators"][0]["value"] == 63


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("entries:\n  H1:\n    nope: {count: 1}\n", "指標代碼不存在 / unknown indicator 'nope'"),
        ("entries:\n  下半年:\n    safety_defects: {count: 1}\n", "期別不存在 / unknown period '下半年'"),
        ("entries:\n  H1:\n    safety_defects: {counts: 1}\n", "unknown inputs ['counts']"),
        ("entries:\n  H1: [1, 2]\n", "H1: 須為對照表 / must be a mapping"),
        ("entries:\n  H1:\n    safety_defects: 63\n", "H1.safety_defects: 須為對照表 / must be a mapping"),
        ("entries: [1]\n", "entries: 須為對照表 / must be a mapping"),
        ("year: abc\nentries:\n  H1:\n    safety_defects: {count: 1}\n", "year must be an ROC year"),
        ("year: 2017\nentries:\n  H1:\n    safety_defects: {count: 1}\n", "year must be an ROC year"),
        ("targets: last\nentries: {}\n", "targets must be current or previous"),
        (
            "entries:\n  H1:\n    safety_defects: {count: 1}\n  上半年:\n    safety_defects: {count: 2}\n",
            "period given twice: H1/上半年",
        ),
        ("- just\n- a list\n", "entries file must be a mapping"),
        ("entries: {H1: [\n", "cannot read entries file"),
    ],
)
def test_compute_unusable_entries_exit_2(tmp_path, body, message):
    write(tmp_path / "e.yaml", body)
    proc = kpi("compute", "--entries", "e.yaml", "--json", cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert proc.stderr.startswith("錯誤 / error: ")
    error = json.loads(proc.stdout)["error"]  # --json always prints JSON: an error object here
    assert message in error["message"]


def test_compute_missing_entries_file_exit_2(tmp_path):
    proc = kpi("compute", "--entries", "nothing_here.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot read entries file nothing_here.yaml" in proc.stderr


def test_compute_with_a_broken_plan_exit_2(tmp_path):
    write(tmp_path / "e.yaml", SEED_ENTRIES_YAML)
    write(tmp_path / "plan.yaml", "id: x\n")
    proc = kpi("compute", "plan.yaml", "--entries", "e.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "計畫檔有誤 / invalid plan: plan.yaml" in proc.stderr


# ---------------------------------------------------------------------------
# kpi demo
# ---------------------------------------------------------------------------


def test_demo(tmp_path):
    proc = kpi("demo", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "89.05" in proc.stdout
    assert "7.47" in proc.stdout
    assert "臺中市政府秘書處 上(106)年度實施狀況及成果概述" in proc.stdout
