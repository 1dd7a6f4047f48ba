"""Load a YAML plan file, validate it, and build the :class:`~kpi_engine.plan.Plan`.

Every mistake is reported with the file, the line and the field path, in zh-TW and
English, all at once, so a clerk can fix a plan in one pass.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import string
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import KpiError

if TYPE_CHECKING:
    import jsonschema
    import yaml
from .kinds import ALL_ROLES, KINDS
from .plan import (
    DEFAULT_EVALUATION_SYSTEMS,
    UNSET_TARGET,
    Goal,
    Indicator,
    InputSpec,
    Lights,
    Options,
    Period,
    Phrases,
    Plan,
    PlanItem,
    Rule,
    Sample,
    Stage,
    Target,
    UnitContact,
    WorkPlan,
    parse_target,
    stage_target,
)

DEFAULT_PLAN_NAME = "taichung_secretariat_107.yaml"
#: The default plan's :func:`plan_copy` with its fingerprint, shipped beside it
#: (``python tools/plan_copy.py`` writes it; a test holds it to the YAML).
DEFAULT_PLAN_COPY = "taichung_secretariat_107.copy.json"
#: A plan is a few dozen kilobytes; a megabyte is far beyond any real one.
MAX_PLAN_CHARS = 1_000_000
SCHEMA_NAME = "plan.schema.json"
DEFAULT_PERIODS = [
    {"id": "H1", "name": "上半年", "start": "01-01", "end": "06-30"},
    {"id": "FY", "name": "全年度", "start": "01-01", "end": "12-31"},
]
# Placeholders every analysis sentence may use, besides the indicator's input roles.
SENTENCE_FIELDS = frozenset(
    {
        "end",
        "year",
        "period",
        "name",
        "value",
        "target",
        "verdict",
        "rate",
        "projection",
        "outlook",
        "stage_label",
    }
)

#: One address, as staff would type it in a mail client (no display name, no list).
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


@dataclass(frozen=True)
class PlanIssue:
    """One mistake in a plan file, with a stable ``code`` (see :data:`ISSUE_CODES`)."""

    path: str
    line: int | None
    message_zh: str
    message_en: str
    code: str = "plan_invalid"

    def __str__(self) -> str:
        where = f"第 {self.line} 行 line {self.line}, " if self.line else ""
        return f"{where}{self.path or '(root)'}: [{self.code}] {self.message_zh} / {self.message_en}"


#: Every code a plan issue may carry; the authoring workbook's import reports the same ones.
ISSUE_CODES = {
    "plan_unreadable": "無法讀取計畫檔",
    "plan_too_large": "計畫檔過大",
    "plan_unverifiable": "計畫資料與範本指紋不符，無法驗證",
    "yaml_alias": "不可使用 YAML 別名",
    "yaml_syntax": "YAML 語法錯誤",
    "schema": "欄位格式不符",
    "plan_invalid": "計畫內容有誤",
    "duplicate_id": "代碼重複",
    "bad_period": "期別日期有誤",
    "unknown_period": "期別不存在",
    "lights_order": "燈號門檻順序有誤",
    "goal_weight": "目標權重與指標權重合計不符",
    "target_format": "目標值格式不正確",
    "target_unset": "目標值尚未設定（年度延續後）",
    "target_unit": "目標值單位不符",
    "target_polarity": "目標值方向與指標方向不一致",
    "polarity_missing": "未註明越高或越低越好",
    "kind_inputs": "填報欄位與計算方式不符",
    "stages": "階段設定有誤",
    "stage_order": "階段百分比未逐步增加",
    "stage_target": "目標值不是任何階段",
    "sentence": "分析句型有誤",
    "unknown_indicator": "指標代碼不存在",
    "unknown_owner": "承辦單位沒有任何指標",
    "rule_input": "檢核規則的填報欄位不存在",
    "needs_review": "待確認（自計畫文件匯入時未能判讀）",
}


class PlanError(KpiError, ValueError):
    """A plan file that cannot be used; ``issues`` lists every mistake found."""

    code = "plan_invalid"

    def __init__(self, source: str, issues: list[PlanIssue]):
        lines = [f"計畫檔有誤 / invalid plan: {source}"] + [f"  - {i}" for i in issues]
        super().__init__("\n".join(lines))
        self.source = source
        self.issues = issues
        self.path = str(source)  # not in str(): the first line names it already
        self.message_zh = "\n".join([f"計畫檔有誤：{source}"] + [f"  - {i.message_zh}" for i in issues])
        self.message_en = "\n".join([f"invalid plan: {source}"] + [f"  - {i.message_en}" for i in issues])


def require_final(plan: Plan) -> None:
    """Raise a PlanError listing what the plan still leaves open (its 「待設定」 targets), if anything."""
    if plan.pending:
        raise PlanError(plan.source, list(plan.pending))


def _templates_dir() -> Any:
    # Imported here: importlib.resources brings tempfile and more into every command's start,
    # and a calculate reads its plan from the workbook (tests/test_startup.py).
    from importlib import resources

    return resources.files("templates")


def default_plan_path() -> Path:
    """Path of the embedded default plan (臺中市政府秘書處 107 年度)."""
    return Path(str(_templates_dir() / DEFAULT_PLAN_NAME))


def plan_schema() -> dict:
    """The published JSON Schema of plan files, its kinds and input roles from :data:`~kpi_engine.kinds.KINDS`.

    The file documents them for people; the records decide (a test holds the file to them).
    """
    schema = json.loads((_templates_dir() / SCHEMA_NAME).read_text(encoding="utf-8"))
    props = schema["$defs"]["indicator"]["properties"]
    props["kind"]["enum"] = list(KINDS)
    props["inputs"]["propertyNames"]["enum"] = list(ALL_ROLES)
    return schema


def load_plan(path: str | Path | None = None) -> Plan:
    """Load and validate a plan file; ``None`` loads the embedded default plan.

    Raises :class:`PlanError` listing every problem with its line.
    """
    shipped = path is None
    path = Path(path) if path is not None else default_plan_path()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(
            str(path), [PlanIssue("", None, "無法讀取檔案", f"cannot read: {exc}", "plan_unreadable")]
        ) from None
    if shipped and (known := _shipped_plan(text, str(path))):
        return known
    return parse_plan(text, source=str(path))


def _shipped_plan(text: str, source: str) -> Plan | None:
    """The embedded default plan built from its shipped copy (:data:`DEFAULT_PLAN_COPY`), with no
    PyYAML and no schema check (``kpi collect`` loaded both for it on every run: 0.05 CPU-s);
    None when the copy is missing or is not a copy of this very text (it was then edited: the
    text is read and validated as any plan is)."""
    try:
        stored = json.loads((_templates_dir() / DEFAULT_PLAN_COPY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    fingerprint = stored.get("fingerprint") if isinstance(stored, dict) else None
    return _from_stored(stored, text, source, fingerprint) if isinstance(fingerprint, str) else None


def shipped_plan_copy(plan: Plan) -> str | None:
    """What :data:`DEFAULT_PLAN_COPY` holds for ``plan``: its :func:`plan_copy` and fingerprint."""
    copy = plan_copy(plan)
    if copy is None:
        return None
    stored = json.loads(copy) | {"fingerprint": plan.fingerprint}
    return json.dumps(stored, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def parse_plan(
    text: str, source: str = "<plan>", *, fingerprint: str | None = None, copy: str | None = None
) -> Plan:
    """Parse plan YAML text; see :func:`load_plan`.

    ``fingerprint``: the one the text was stored with (the plan a workbook carries).  A plan
    that builds to it is the plan validated when the workbook was made, so the schema is not
    checked again: the buttons run in LibreOffice's and Pyodide's Python without jsonschema
    (whose rpds-py is compiled).  Any other text is validated in full.

    ``copy``: the :func:`plan_copy` stored beside the text.  When it is a copy of this very
    text and builds to ``fingerprint``, the plan is built from it and PyYAML is never
    imported (issue 24); any other copy is ignored and the text is read.
    """
    if len(text) > MAX_PLAN_CHARS:
        raise PlanError(
            source,
            [
                PlanIssue(
                    "",
                    None,
                    "計畫檔過大",
                    f"a plan file is at most {MAX_PLAN_CHARS} characters",
                    "plan_too_large",
                )
            ],
        )
    if copy and fingerprint is not None and (known := _from_copy(copy, text, source, fingerprint)):
        return known
    yaml = _yaml()
    try:
        # Pure Python (the buttons' bundle): one pass, aliases refused in it.
        if _FAST_LOADER is yaml.SafeLoader:
            data = yaml.load(text, Loader=_no_alias_loader())
        elif _may_alias(text) and any(
            isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=_FAST_LOADER)
        ):
            raise _AliasInPlan
        else:
            data = yaml.load(text, Loader=_FAST_LOADER)
    except _AliasInPlan:
        # Plans never need anchors and aliases, and aliases can expand a few bytes into gigabytes.
        raise PlanError(
            source,
            [
                PlanIssue(
                    "",
                    None,
                    "計畫檔不可使用 YAML 別名（*）",
                    "YAML aliases (*name) are not allowed in a plan",
                    "yaml_alias",
                )
            ],
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise PlanError(
            source, [PlanIssue("", line, "YAML 語法錯誤", f"YAML syntax: {exc}", "yaml_syntax")]
        ) from None
    if not isinstance(data, dict):
        raise PlanError(source, [PlanIssue("", 1, "計畫檔須為對照表", "a plan must be a mapping", "schema")])

    composed: list[yaml.Node | None] = []

    def line_of(path: tuple) -> int | None:
        # Only a plan with mistakes needs line numbers: compose the node tree on first use.
        if not composed:
            try:
                composed.append(yaml.compose(text, Loader=_FAST_LOADER))
            except yaml.YAMLError:  # the same parser loaded it, but never fail over a line number
                composed.append(None)
        return _line_of(composed[0], path)

    if fingerprint is not None and (known := _known_plan(data, line_of, source, text, fingerprint)):
        return known
    issues = [
        PlanIssue(
            _dotted(err.absolute_path),
            line_of(tuple(err.absolute_path)),
            "格式不符",
            err.message if len(err.message) <= 300 else err.message[:300] + "…",
            "schema",
        )
        for err in sorted(
            _validator().iter_errors(data),
            key=lambda e: [str(p) for p in e.absolute_path],
        )
    ]
    if issues:
        raise PlanError(source, issues)
    builder = _Builder(data, line_of)
    plan = replace(builder.build(source), text=text)
    if builder.issues:
        raise PlanError(source, builder.issues)
    return plan


#: libyaml's loader where PyYAML was built with it: several times faster on a workbook's plan
#: (set when PyYAML is first imported, :func:`_yaml`).
_FAST_LOADER: Any = None


def _yaml() -> Any:
    """PyYAML, imported when a plan is first read from YAML: its import is most of the cost of
    reading a workbook's plan, which a workbook's JSON copy spares (issue 24)."""
    global _FAST_LOADER
    import yaml

    if _FAST_LOADER is None:
        _FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml


def _may_alias(text: str) -> bool:
    """Whether ``text`` may hold a YAML alias: a ``*`` where a token can begin (after a space,
    a line start, ``[{,:?-``…).  A ``*`` inside a word (``人數*100%``) never starts one, so most
    plans skip the second pass over their events (issue 24)."""
    at = text.find("*")
    while at != -1:
        before = text[at - 1] if at else " "
        if not (before.isalnum() or before in "_)%."):
            return True
        at = text.find("*", at + 1)
    return False


class _AliasInPlan(Exception):
    """A YAML alias (``*name``) in a plan."""


@functools.cache
def _no_alias_loader() -> Any:
    yaml = _yaml()

    class NoAliasLoader(yaml.SafeLoader):
        """The pure-Python loader refusing an alias where it composes one: no second pass over
        the events (a 200-indicator plan: 0.24 → 0.15 s of CPU in the bundle's pure PyYAML)."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _AliasInPlan
            return super().compose_node(parent, index)

    return NoAliasLoader


def plan_copy(plan: Plan) -> str | None:
    """What a workbook stores beside ``plan.text`` so that reading its plan needs no PyYAML:
    the plan's data as JSON with the SHA-256 of the text it was read from.

    None when JSON cannot hold that data exactly (a date, a number as a key, NaN): the
    workbook then carries the text alone, as before.
    """
    if not plan.text:
        return None
    data = _yaml().load(plan.text, Loader=_FAST_LOADER)
    try:
        exact = json.loads(json.dumps(data, ensure_ascii=False)) == data
    except (TypeError, ValueError):
        return None
    if not exact:
        return None
    stored = {"text_sha256": hashlib.sha256(plan.text.encode("utf-8")).hexdigest(), "data": data}
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"))


def _from_copy(copy: str, text: str, source: str, fingerprint: str) -> Plan | None:
    """The plan ``copy`` (:func:`plan_copy`) builds, when it is a copy of ``text`` and builds
    cleanly to ``fingerprint``; else None (the text is read instead)."""
    try:
        stored = json.loads(copy)
    except (ValueError, RecursionError):
        return None
    return _from_stored(stored, text, source, fingerprint)


def _from_stored(stored: Any, text: str, source: str, fingerprint: str) -> Plan | None:
    """:func:`_from_copy` of the copy as parsed."""
    if not isinstance(stored, dict) or not isinstance(stored.get("data"), dict):
        return None
    if stored.get("text_sha256") != hashlib.sha256(text.encode("utf-8")).hexdigest():
        return None  # the text was edited after the copy was made: the text decides
    return _known_plan(stored["data"], lambda _path: None, source, text, fingerprint)


def _known_plan(data: dict, line_of: Any, source: str, text: str, fingerprint: str) -> Plan | None:
    """The plan ``data`` builds, when it builds cleanly to ``fingerprint``; else None."""
    try:
        builder = _Builder(data, line_of)
        plan = builder.build(source)
    except Exception:  # unvalidated data may be any shape: the full path names what is wrong
        return None
    if builder.issues or plan.fingerprint != fingerprint:
        return None
    return replace(plan, text=text)


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    try:
        import jsonschema
    except ImportError as exc:  # a button's Python (LibreOffice, Pyodide) has only the bundle
        raise PlanError(
            "(workbook)",
            [
                PlanIssue(
                    "",
                    None,
                    "計畫資料與範本指紋不符，此處無法驗證；請重新下載範本",
                    f"the plan does not match its fingerprint and cannot be validated here ({exc.name} missing);"
                    " download the template again",
                    "plan_unverifiable",
                )
            ],
        ) from None
    return jsonschema.Draft202012Validator(plan_schema())


@functools.cache
def _plan_dumper() -> Any:
    class PlanDumper(_yaml().SafeDumper):
        """Writes plans as a clerk would: no anchors or aliases (the loader refuses them)."""

        def ignore_aliases(self, data: Any) -> bool:
            return True

    return PlanDumper


#: An indicator's keys in the order a plan file lists them (tools writing plan data use it).
INDICATOR_KEYS = (
    "id",
    "number",
    "name",
    "weight",
    "system",
    "method",
    "formula",
    "kind",
    "polarity",
    "target",
    "previous_target",
    "decimals",
    "common",
    "owner",
    "inputs",
    "stages",
    "assessed_in",
    "sentence",
    "needs_review",
)


def dump_plan(data: dict) -> str:
    """Plan data as plan-file YAML text (UTF-8 characters kept, keys in the given order)."""
    return _yaml().dump(data, Dumper=_plan_dumper(), allow_unicode=True, sort_keys=False)


def _dotted(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, path: tuple) -> int | None:
    """The 1-based line of the YAML node at ``path``, or of its nearest parent."""
    best = node.start_mark.line + 1 if node is not None else None
    yaml = _yaml()
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(part)]
            node = match[0] if match else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        best = node.start_mark.line + 1
    return best


def fingerprint(data: dict) -> str:
    """A stable hash of a plan's definition (sample data excluded).

    It hashes :func:`canonical` data, so the same plan written another way (a
    default spelled out or left out, ``15`` or ``15.0``) keeps its fingerprint:
    a plan that goes YAML → authoring workbook → YAML is still the same plan.
    """
    blob = json.dumps(canonical(data), ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


_OPTION_DEFAULTS = {"decimals": 2, "cap": 100, "password": None, "submit_to": None}
_LIGHT_DEFAULTS = {"green": 100, "yellow": 90}


def canonical(data: dict) -> dict:
    """Plan data without sample, without values equal to their defaults, numbers normalised."""
    core = _numbers({k: v for k, v in data.items() if k != "sample"})
    opts = dict(core.get("options") or {})
    lights = {k: v for k, v in (opts.pop("lights", None) or {}).items() if _LIGHT_DEFAULTS.get(k) != v}
    opts = {k: v for k, v in opts.items() if k not in _OPTION_DEFAULTS or _OPTION_DEFAULTS[k] != v}
    if lights:
        opts["lights"] = lights
    core["options"] = opts
    defaults = Phrases()
    core["phrases"] = {
        k: v for k, v in (core.get("phrases") or {}).items() if getattr(defaults, k, None) != v
    }
    if core.get("periods") == _numbers(DEFAULT_PERIODS):
        del core["periods"]
    systems = {e["code"]: e["meaning"] for e in core.get("evaluation_systems") or [] if isinstance(e, dict)}
    if all(DEFAULT_EVALUATION_SYSTEMS.get(c) == m for c, m in systems.items()):
        core.pop("evaluation_systems", None)
    for goal in core.get("goals") or []:
        for ind in goal.get("indicators") or [] if isinstance(goal, dict) else []:
            if not isinstance(ind, dict):
                continue
            kind = KINDS.get(str(ind.get("kind")))
            for spec in (ind.get("inputs") or {}).values():
                if isinstance(spec, dict) and kind and spec.get("cumulative") is kind.cumulative:
                    del spec["cumulative"]
            for key in ("assessed_in", "needs_review"):
                if ind.get(key) == []:
                    del ind[key]
            if ind.get("common") is False:
                del ind["common"]
    for key in ("options", "phrases", "rules", "work_plans", "overview", "needs_review"):
        if core.get(key) in ({}, [], None):
            core.pop(key, None)
    return core


def _numbers(value: Any) -> Any:
    """A deep copy with whole floats as ints (a spreadsheet reads 15.0 back as 15)."""
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Builder:
    """Turns schema-valid data into a Plan, collecting semantic mistakes."""

    def __init__(self, data: dict, line_of: Any):
        self.data = data
        self.line_of = line_of
        self.issues: list[PlanIssue] = []
        self.pending: list[PlanIssue] = []  # 待設定 targets: the plan loads, plan check lists them

    def issue(self, path: tuple, zh: str, en: str, code: str = "plan_invalid") -> None:
        self.issues.append(PlanIssue(_dotted(path), self.line_of(path), zh, en, code))

    def target(
        self, raw: Any, path: tuple, stages: tuple[Stage, ...] = (), *, percent: bool = False, name: str = ""
    ) -> Target | None:
        if str(raw).strip() == UNSET_TARGET:  # templates and results are made; nothing is rated
            self.pending.append(
                PlanIssue(
                    _dotted(path),
                    self.line_of(path),
                    f"「{name}」目標值尚未設定（{UNSET_TARGET}），請填入本年度目標值",
                    f"target of {name!r} not set yet; fill in this year's target",
                    "target_unset",
                )
            )
            return Target(UNSET_TARGET, Decimal(0), percent, None, unset=True)
        try:
            if stages:  # a milestone target may name a stage: 第3階段, 3, or its label
                found = stage_target(str(raw), stages)
                if found is not None:
                    return found
            return parse_target(str(raw))
        except ValueError as exc:
            self.issue(
                path,
                f"目標值格式不正確：{raw}",
                f"not a target: {raw!r} (e.g. 8%, ≤120, 85%以上, 10件以下, 第3階段): {exc}",
                "target_format",
            )
            return None

    def build(self, source: str) -> Plan:
        d = self.data
        self.review_marks(d.get("needs_review", []), ())
        periods = tuple(
            self.period(p, ("periods", i)) for i, p in enumerate(d.get("periods") or DEFAULT_PERIODS)
        )
        self.unique([(p.id, ("periods", i, "id")) for i, p in enumerate(periods)], "期別代碼")
        period_ids = {p.id for p in periods}
        opts = d.get("options", {})
        lights = opts.get("lights", {})
        options = Options(
            decimals=opts.get("decimals", 2),
            cap=Decimal(str(opts.get("cap", 100))),
            lights=Lights(Decimal(str(lights.get("green", 100))), Decimal(str(lights.get("yellow", 90)))),
            password=opts.get("password"),
            submit_to=(opts.get("submit_to") or "").strip() or None,
        )
        if options.submit_to and not _EMAIL.match(options.submit_to):
            self.issue(
                ("options", "submit_to"),
                f"寄回地址不是電子郵件地址：{options.submit_to}",
                f"submit_to is not an email address: {options.submit_to!r}",
            )
        if options.lights.yellow > options.lights.green:
            self.issue(
                ("options", "lights"), "黃燈門檻不可高於綠燈", "yellow threshold above green", "lights_order"
            )
        goals = tuple(self.goal(g, ("goals", gi), period_ids) for gi, g in enumerate(d["goals"]))
        indicators = [i for g in goals for i in g.indicators]
        self.unique([(g.id, ("goals", gi, "id")) for gi, g in enumerate(goals)], "目標代碼")
        where = [
            ("goals", gi, "indicators", ii, "id")
            for gi, g in enumerate(goals)
            for ii in range(len(g.indicators))
        ]
        self.unique([(i.id, at) for i, at in zip(indicators, where, strict=True)], "指標代碼")
        systems = dict(DEFAULT_EVALUATION_SYSTEMS)
        systems.update({e["code"]: e["meaning"] for e in d.get("evaluation_systems", [])})
        rules = tuple(
            r for ri, raw in enumerate(d.get("rules", [])) if (r := self.rule(raw, ("rules", ri), indicators))
        )
        compare = d.get("phrases", {}).get("compare")
        if compare:
            try:
                fields = {f for _, f, _, _ in string.Formatter().parse(compare) if f is not None}
            except ValueError:
                fields = {"{"}
            for f in sorted(fields - {"compare_year", "previous", "change"}):
                self.issue(
                    ("phrases", "compare"),
                    f"比較句型中有未知欄位 {{{f}}}",
                    f"unknown placeholder {{{f}}}; allowed: change, compare_year, previous",
                )
        sample = None
        if "sample" in d:
            s = d["sample"]
            if s["period"] not in period_ids:
                self.issue(
                    ("sample", "period"),
                    "範例期別不存在",
                    f"unknown period {s['period']!r}",
                    "unknown_period",
                )
            known = {i.id for i in indicators}
            for key in ("entries", "notes"):
                for ind_id in s.get(key, {}):
                    if ind_id not in known:
                        self.issue(
                            ("sample", key, ind_id),
                            "指標代碼不存在",
                            f"unknown indicator {ind_id!r}",
                            "unknown_indicator",
                        )
            sample = Sample(
                s["year"], s["period"], s.get("targets", "current"), s["entries"], dict(s.get("notes", {}))
            )
        contacts = tuple(
            UnitContact(u)
            if isinstance(u, str)
            else UnitContact(u["name"], u.get("contact", ""), u.get("email", ""))
            for u in d.get("units", [])
        )
        self.unique([(c.name, ("units", i)) for i, c in enumerate(contacts)], "填報單位")
        return Plan(
            id=d["id"],
            agency=d["agency"],
            year=d["year"],
            title=d["title"],
            periods=periods,
            goals=goals,
            options=options,
            phrases=Phrases(**d.get("phrases", {})),
            evaluation_systems=systems,
            rules=rules,
            work_plans=self.work_plans(d.get("work_plans", []), {i.owner for i in indicators}),
            overview=d.get("overview", {}),
            sample=sample,
            fingerprint=fingerprint(d),
            source=source,
            units=tuple(c.name for c in contacts),
            contacts=contacts,
            pending=tuple(self.pending),
        )

    def unique(self, ids: list[tuple[str, tuple]], what: str) -> None:
        """Each repeated id is an issue at its second (third…) place, so a workbook names that cell."""
        seen: set[str] = set()
        for x, path in ids:
            if x in seen:
                self.issue(path, f"{what}重複：{x}", f"duplicate id {x!r}", "duplicate_id")
            seen.add(x)

    def period(self, p: dict, path: tuple) -> Period:
        def md(text: str) -> tuple[int, int]:
            m, day = (int(x) for x in str(text).split("-"))
            return m, day

        period = Period(p["id"], p["name"], md(p["start"]), md(p["end"]))
        try:
            start, end = period.dates(2000)  # a leap year accepts every valid month-day
        except ValueError:
            self.issue(path, "日期不存在", "no such date", "bad_period")
        else:
            if start > end:
                self.issue(path, "起日晚於迄日", "start is after end", "bad_period")
        return period

    def goal(self, g: dict, path: tuple, period_ids: set[str]) -> Goal:
        indicators = tuple(
            self.indicator(raw, (*path, "indicators", i), g["id"], period_ids)
            for i, raw in enumerate(g["indicators"])
        )
        weight = Decimal(str(g["weight"]))
        total = sum((i.weight for i in indicators), Decimal(0))
        if total != weight:
            self.issue(
                (*path, "weight"),
                f"目標權重 {weight} 不等於所屬指標權重合計 {total}",
                f"goal weight {weight} differs from its indicators' total {total}",
                "goal_weight",
            )
        return Goal(g["id"], str(g.get("number", "")), g["name"], weight, indicators)

    def indicator(self, raw: dict, path: tuple, goal_id: str, period_ids: set[str]) -> Indicator:
        kind = raw["kind"]
        self.review_marks(raw.get("needs_review", []), path)
        stages = self.stages(raw, kind, path)
        percent = KINDS[kind].percent
        target = self.target(raw["target"], (*path, "target"), stages, percent=percent, name=raw["name"])
        prev = (
            self.target(
                raw["previous_target"], (*path, "previous_target"), stages, percent=percent, name=raw["name"]
            )
            if "previous_target" in raw
            else None
        )
        polarity = self.polarity(raw, kind, target, path)
        for name, t in (("target", target), ("previous_target", prev)):
            if t is not None and not t.unset:
                self.check_target(t, raw, kind, polarity, stages, (*path, name))
        roles = KINDS[kind].roles
        inputs_raw = raw["inputs"]
        if set(inputs_raw) != set(roles):
            self.issue(
                (*path, "inputs"),
                f"{kind} 指標的填報欄位須為 {', '.join(roles)}",
                f"{kind} needs inputs {', '.join(roles)}, got {', '.join(inputs_raw)}",
                "kind_inputs",
            )
        inputs = tuple(
            InputSpec(
                role,
                inputs_raw[role]["label"],
                inputs_raw[role]["unit"],
                inputs_raw[role].get("cumulative", KINDS[kind].cumulative),
            )
            for role in roles
            if role in inputs_raw
        )
        sentence = raw.get("sentence")
        if sentence:
            self.check_sentence(sentence, set(roles), (*path, "sentence"))
        assessed_in = tuple(raw.get("assessed_in", []))
        for p in assessed_in:
            if p not in period_ids:
                self.issue(
                    (*path, "assessed_in"), f"期別不存在：{p}", f"unknown period {p!r}", "unknown_period"
                )
        whole = KINDS[kind].part_of_whole
        part = raw.get("numerator_in_denominator", whole)
        if not isinstance(part, bool) or (part and not whole):
            self.issue(
                (*path, "numerator_in_denominator"),
                "numerator_in_denominator 須為 true 或 false，且僅用於 ratio 指標",
                "numerator_in_denominator must be true or false, and only for ratio",
                "kind_inputs",
            )
            part = whole
        return Indicator(
            id=raw["id"],
            number=str(raw.get("number", "")),
            name=raw["name"],
            weight=Decimal(str(raw["weight"])),
            system=raw["system"],
            method=raw["method"],
            formula=raw["formula"],
            kind=kind,
            polarity=polarity,
            target=target or parse_target("0"),
            previous_target=prev,
            owner=raw["owner"],
            inputs=inputs,
            goal_id=goal_id,
            stages=stages,
            sentence=sentence,
            assessed_in=assessed_in,
            numerator_in_denominator=part,
            decimals=raw.get("decimals"),
            common=raw.get("common", False),
        )

    def review_marks(self, marks: list[dict], path: tuple) -> None:
        """Every ``needs_review`` mark is an issue until the coordinator removes it."""
        for mark in marks:
            field_name = mark["field"]
            self.issue(
                (*path, field_name),
                f"待確認：{mark['note_zh']}（確認或修正「{field_name}」後，請刪除此待確認標記）",
                f"needs review: {mark['note_en']} (check or fix {field_name!r}, then delete the mark)",
                "needs_review",
            )

    def stages(self, raw: dict, kind: str, path: tuple) -> tuple[Stage, ...]:
        stages = tuple(Stage(s["label"], Decimal(str(s["percent"]))) for s in raw.get("stages", []))
        if KINDS[kind].staged != bool(stages):
            self.issue(
                (*path, "stages"),
                "僅 milestone 指標須列出階段",
                "stages are required for, and only for, milestone",
                "stages",
            )
        for n in range(1, len(stages)):
            if stages[n].percent <= stages[n - 1].percent:
                self.issue(
                    (*path, "stages", n),
                    f"第{n + 1}階段的百分比 {stages[n].percent}% 須大於第{n}階段的 {stages[n - 1].percent}%",
                    f"stage {n + 1} ({stages[n].percent}%) must be above stage {n} ({stages[n - 1].percent}%)",
                    "stage_order",
                )
        return stages

    def polarity(self, raw: dict, kind: str, target: Target | None, path: tuple) -> str:
        """The written polarity; else the one the target's comparator implies (``≤10件`` → lower).

        A kind without a default polarity (a count, an average, a stock), or a negative
        target, that says neither is an error: guessing higher-is-better would silently
        turn a defect count into an achievement.
        """
        polarity = raw.get("polarity")
        implied = None
        if target and target.op:
            implied = "lower" if "<" in target.op else "higher"
        if polarity and implied and polarity != implied:
            self.issue(
                (*path, "polarity"),
                f"方向（{polarity}）與目標值「{target.printed}」的比較符號不一致",
                f"polarity {polarity} contradicts target {target.printed}",
                "target_polarity",
            )
        default = KINDS[kind].default_polarity
        if not polarity and not implied and (default is None or (target and target.value < 0)):
            self.issue(
                (*path, "polarity"),
                "請註明方向 polarity：higher（越高越好）或 lower（越低越好），或在目標值寫明 ≤、≥、以上、以下",
                "say polarity: higher or lower (or write the target with ≤, ≥, 以上, 以下)",
                "polarity_missing",
            )
        return polarity or implied or default or "higher"

    def check_target(
        self, t: Target, raw: dict, kind: str, polarity: str, stages: tuple[Stage, ...], path: tuple
    ) -> None:
        record = KINDS[kind]
        if t.percent != record.percent:
            want = "須加 %" if record.percent else "不可加 %"
            self.issue(
                path,
                f"{kind} 指標目標值{want}",
                f"{kind} target must {'' if record.percent else 'not '}be a percentage",
                "target_format",
            )
        if t.relative and not record.signed:
            self.issue(
                path,
                f"目標值「{t.printed}」是與上年度比較，只適用成長率（growth）指標",
                f"target {t.printed!r} compares with last year: it fits only a growth indicator",
                "target_format",
            )
        if t.op == "<" and t.value == 0:
            self.issue(path, "目標值不可為 <0", "target <0 can never be met", "target_format")
        if t.value < 0 and (not record.signed or polarity != "lower"):
            self.issue(
                path,
                "負的目標值僅適用於越低越好（lower）的成長率",
                "a negative target fits only a lower-is-better growth",
                "target_format",
            )
        first = record.roles[0]
        if t.unit and not record.percent and first in raw["inputs"]:
            unit = raw["inputs"][first]["unit"]  # the value's unit: a count's, a level's, a total's
            if t.unit != unit:
                self.issue(
                    path,
                    f"目標值單位「{t.unit}」與填報單位「{unit}」不同",
                    f"target unit {t.unit!r} differs from the input's unit {unit!r}",
                    "target_unit",
                )
        elif t.unit and record.percent:
            self.issue(
                path,
                f"{kind} 指標目標值不可有單位「{t.unit}」",
                "unit word on a percentage target",
                "target_unit",
            )
        if record.staged and stages and t.stage is None and t.value not in {s.percent for s in stages}:
            listed = "、".join(f"{s.percent}%" for s in stages)
            self.issue(
                path,
                f"目標值「{t.printed}」不是任何階段（階段為 {listed}）；可寫「第3階段」、階段編號或階段名稱",
                f"target {t.printed!r} matches no stage ({listed}); write 第3階段, a stage number or its label",
                "stage_target",
            )

    def check_sentence(self, sentence: str, roles: set[str], path: tuple) -> None:
        try:
            fields = {f for _, f, _, _ in string.Formatter().parse(sentence) if f is not None}
        except ValueError as exc:
            self.issue(path, "句型的大括號不成對", f"unbalanced braces: {exc}", "sentence")
            return
        allowed = SENTENCE_FIELDS | roles | {f"{r}_{x}" for r in roles for x in ("unit", "label")}
        for f in sorted(fields - allowed):
            self.issue(
                path,
                f"句型中有未知欄位 {{{f}}}",
                f"unknown placeholder {{{f}}}; allowed: {', '.join(sorted(allowed))}",
                "sentence",
            )

    def rule(self, raw: dict, path: tuple, indicators: list[Indicator]) -> Rule | None:
        known = {(i.id, s.role) for i in indicators for s in i.inputs}

        def ref(text: str, key: str) -> tuple[str, str] | None:
            ind, role = text.split(".")
            if (ind, role) not in known:
                self.issue((*path, key), f"找不到填報欄位 {text}", f"no input {text!r}", "rule_input")
                return None
            return ind, role

        left = ref(raw["left"], "left")
        right: tuple[str, str] | Decimal | None
        right = (
            Decimal(str(raw["right"]))
            if isinstance(raw["right"], (int, float))
            else ref(raw["right"], "right")
        )
        if left is None or right is None:
            return None
        return Rule(
            raw["id"],
            left,
            raw["op"],
            right,
            raw.get("severity", "error"),
            raw["message_zh"],
            raw["message_en"],
        )

    def work_plans(self, raw: list[dict], owners: set[str]) -> tuple[WorkPlan, ...]:
        for n, w in enumerate(raw):
            # a section's template needs an indicator of it; else its items would reach no section
            if w.get("owner") and w["owner"] not in owners:
                self.issue(
                    ("work_plans", n, "owner"),
                    f"工作計畫的承辦單位「{w['owner']}」沒有任何指標，須與某一指標的承辦單位同名",
                    f"work plan owner {w['owner']!r} owns no indicator; spell it as an indicator's owner",
                    "unknown_owner",
                )
        return tuple(
            WorkPlan(
                wi + 1,
                w["name"],
                tuple(
                    PlanItem(f"P{wi + 1}_{ii + 1}", ii + 1, item["name"], tuple(item["content"]))
                    for ii, item in enumerate(w["items"])
                ),
                w.get("owner") or "",  # as indicators spell it, so Scope.items matches them
            )
            for wi, w in enumerate(raw)
        )
