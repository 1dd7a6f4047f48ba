"""The archive: every collected result, staff text and finding, across periods and years.

One SQLite file (stdlib ``sqlite3``) the coordinator can back up.  The schema lives
here only, versioned with ``PRAGMA user_version`` and migrated forward on open.

* Every row keeps its plan, year, period, unit, source file and the file's SHA-256.
* A file already archived (same SHA-256) adds nothing.
* A newer version of a unit's figure (a later saved or calculated file) supersedes the
  older one, which stays as history (``superseded_by``); reports read current rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from kpi_engine import Plan, PlanError, parse_plan
from kpi_engine.evaluate import IndicatorResult
from kpi_engine.report_model import UnitData
from workbook.collect import Collection
from workbook.report.errors import ReportError

#: Forward migrations: entry n brings a database from version n to n + 1.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE plans (
        fingerprint TEXT PRIMARY KEY,
        plan_id     TEXT NOT NULL,
        year        INTEGER NOT NULL,
        text        TEXT NOT NULL,
        added_at    TEXT NOT NULL
    );
    CREATE TABLE files (
        id           INTEGER PRIMARY KEY,
        sha256       TEXT NOT NULL UNIQUE,
        source       TEXT NOT NULL,
        size         INTEGER,
        status       TEXT NOT NULL,
        reason       TEXT,
        plan_id      TEXT,
        fingerprint  TEXT,
        unit         TEXT,
        owner        TEXT,
        year         INTEGER,
        version_time TEXT,   -- the file's own time: later versions supersede earlier ones
        collected_at TEXT NOT NULL
    );
    CREATE TABLE results (
        id            INTEGER PRIMARY KEY,
        file_id       INTEGER NOT NULL REFERENCES files(id),
        plan_id       TEXT NOT NULL,
        fingerprint   TEXT NOT NULL,
        year          INTEGER NOT NULL,
        period        TEXT NOT NULL,
        unit          TEXT NOT NULL,
        owner         TEXT,
        indicator     TEXT NOT NULL,
        inputs        TEXT NOT NULL,  -- JSON; numbers as decimal strings
        value         TEXT,
        projection    TEXT,
        target        TEXT,
        achieved      INTEGER,
        rate          TEXT,
        light         TEXT NOT NULL,
        at_risk       INTEGER,
        sentence      TEXT NOT NULL,
        superseded_by INTEGER REFERENCES results(id),
        UNIQUE (file_id, unit, year, period, indicator)
    );
    CREATE INDEX results_key ON results (plan_id, year, period, unit, indicator);
    CREATE TABLE staff_text (
        id            INTEGER PRIMARY KEY,
        file_id       INTEGER NOT NULL REFERENCES files(id),
        plan_id       TEXT NOT NULL,
        year          INTEGER NOT NULL,
        period        TEXT NOT NULL,
        unit          TEXT NOT NULL,
        kind          TEXT NOT NULL CHECK (kind IN ('note', 'progress')),
        key           TEXT NOT NULL,   -- indicator id (note) or Part 3 item id (progress)
        progress      TEXT,            -- 執行進度 (progress only)
        text          TEXT NOT NULL,   -- 補充說明 or 執行情形
        superseded_by INTEGER REFERENCES staff_text(id),
        UNIQUE (file_id, unit, year, period, kind, key)
    );
    CREATE INDEX staff_key ON staff_text (plan_id, year, period, unit, kind, key);
    CREATE TABLE findings (
        id         INTEGER PRIMARY KEY,
        file_id    INTEGER NOT NULL REFERENCES files(id),
        code       TEXT NOT NULL,
        severity   TEXT NOT NULL,
        indicator  TEXT,
        input      TEXT,
        period     TEXT,
        sheet      TEXT,
        cell       TEXT,
        message_zh TEXT,
        message_en TEXT
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class ArchiveError(ReportError):
    """An archive that cannot be used (missing, not SQLite, or from a newer version)."""

    code = "archive"


@dataclass
class Added:
    """What one :meth:`Archive.add` changed."""

    files: int = 0
    already: int = 0  # files archived before (same SHA-256): nothing added
    results: int = 0
    superseded: int = 0  # rows that a newer version replaced (kept as history)
    texts: int = 0
    findings: int = 0


def _num(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _flag(b: bool | None) -> int | None:
    return None if b is None else int(b)


class Archive:
    """An open archive database."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    @contextmanager
    def open(cls, path: str | Path, *, create: bool = True) -> Iterator[Archive]:
        """Open (and migrate) the archive at ``path``; ``create=False`` refuses a missing file."""
        path = Path(path)
        if not create and not path.is_file():
            raise ArchiveError(f"找不到彙整資料庫：{path} / no such archive: {path}")
        if path.exists() and not path.is_file():
            raise ArchiveError(f"彙整資料庫須為一般檔案：{path} / the archive must be a regular file")
        try:
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(
                f"無法開啟彙整資料庫（不是 SQLite 檔或已損毀）：{path} / cannot open the archive: {exc}"
            ) from None
        try:
            yield cls(conn, path)
            conn.commit()
        finally:
            conn.close()

    # -- writing -----------------------------------------------------------------------

    def add(self, coll: Collection, paths: Iterable[str | Path], now: datetime | None = None) -> Added:
        """Archive one collect: every file, result row, staff text and finding. One transaction."""
        from workbook.report.staff import per_file_text

        stamp = (now or datetime.now()).isoformat(sep=" ", timespec="seconds")
        added = Added()
        texts = {sub.source: (scope, by_period) for sub, scope, by_period in per_file_text(coll, paths)}
        with self.conn:  # all or nothing
            for plan in coll.plans:
                self.conn.execute(
                    "INSERT OR IGNORE INTO plans VALUES (?, ?, ?, ?, ?)",
                    (plan.fingerprint, plan.id, plan.year, plan.text, stamp),
                )
            for sub in coll.submissions:
                if not sub.sha256:
                    continue  # unreadable before hashing: nothing to keep
                if self.conn.execute("SELECT 1 FROM files WHERE sha256 = ?", (sub.sha256,)).fetchone():
                    added.already += 1
                    continue
                version = getattr(sub, "saved_at", "") or sub.calculated_at or stamp
                cur = self.conn.execute(
                    "INSERT INTO files (sha256, source, size, status, reason, plan_id, fingerprint, unit, owner,"
                    " year, version_time, collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        sub.sha256,
                        sub.source,
                        sub.size,
                        sub.status,
                        sub.reason,
                        sub.plan_id,
                        sub.fingerprint,
                        sub.unit,
                        sub.owner,
                        sub.year,
                        version,
                        stamp,
                    ),
                )
                file_id = cur.lastrowid
                added.files += 1
                for f in sub.findings:
                    self.conn.execute(
                        "INSERT INTO findings (file_id, code, severity, indicator, input, period, sheet, cell,"
                        " message_zh, message_en) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            file_id,
                            f.code,
                            f.severity,
                            f.indicator,
                            f.input,
                            f.period,
                            f.sheet,
                            f.cell,
                            f.message_zh,
                            f.message_en,
                        ),
                    )
                    added.findings += 1
                if sub.year is None:
                    continue
                for r in sub.results:
                    new = self.conn.execute(
                        "INSERT INTO results (file_id, plan_id, fingerprint, year, period, unit, owner, indicator,"
                        " inputs, value, projection, target, achieved, rate, light, at_risk, sentence)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            file_id,
                            sub.plan_id,
                            sub.fingerprint,
                            sub.year,
                            r.period,
                            sub.unit,
                            sub.owner,
                            r.indicator,
                            json.dumps({k: _num(v) for k, v in r.inputs.items()}),
                            _num(r.value),
                            _num(r.projection),
                            r.target,
                            _flag(r.achieved),
                            _num(r.achievement_rate),
                            r.light,
                            _flag(r.at_risk),
                            r.sentence,
                        ),
                    ).lastrowid
                    added.results += 1
                    key = (sub.plan_id, sub.year, r.period, sub.unit, r.indicator)
                    added.superseded += self._supersede_result(key, new, version)
                scope_text = texts.get(sub.source)
                if scope_text is None:
                    continue
                for pid, text in scope_text[1].items():
                    rows = [("note", k, None, v) for k, v in text.notes.items()]
                    rows += [("progress", k, _num(p), d) for k, (p, d) in text.progress.items()]
                    for kind, k, prog, body in rows:
                        new = self.conn.execute(
                            "INSERT INTO staff_text (file_id, plan_id, year, period, unit, kind, key, progress, text)"
                            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (file_id, sub.plan_id, sub.year, pid, sub.unit, kind, k, prog, body),
                        ).lastrowid
                        added.texts += 1
                        self._supersede_text((sub.plan_id, sub.year, pid, sub.unit, kind, k), new, version)
        return added

    def _versions(self, table: str, where: str, key: tuple, new: int) -> list[tuple[int, str]]:
        return self.conn.execute(
            f"SELECT t.id, f.version_time FROM {table} t JOIN files f ON f.id = t.file_id"
            f" WHERE {where} AND t.superseded_by IS NULL AND t.id != ?",
            (*key, new),
        ).fetchall()

    def _resolve(self, table: str, others: list[tuple[int, str]], new: int, version: str) -> int:
        """Keep the newest version current; the others point at it. Returns rows superseded."""
        newest = max([(v or "", i) for i, v in others] + [(version, new)])[1]
        ids = [i for i, _ in others] + [new]
        for i in ids:
            if i != newest:
                self.conn.execute(f"UPDATE {table} SET superseded_by = ? WHERE id = ?", (newest, i))
        return len(ids) - 1

    def _supersede_result(self, key: tuple, new: int, version: str) -> int:
        where = "t.plan_id = ? AND t.year = ? AND t.period = ? AND t.unit = ? AND t.indicator = ?"
        return self._resolve("results", self._versions("results", where, key, new), new, version)

    def _supersede_text(self, key: tuple, new: int, version: str) -> int:
        where = "t.plan_id = ? AND t.year = ? AND t.period = ? AND t.unit = ? AND t.kind = ? AND t.key = ?"
        return self._resolve("staff_text", self._versions("staff_text", where, key, new), new, version)

    # -- reading -----------------------------------------------------------------------

    def plans(self) -> dict[str, Plan]:
        """The archived plans by id (the latest text of each id)."""
        out: dict[str, Plan] = {}
        for text, source in self.conn.execute(
            "SELECT text, plan_id FROM plans ORDER BY added_at, rowid"
        ).fetchall():
            try:
                plan = parse_plan(text, source=f"{self.path}:{source}")
            except PlanError:
                continue
            out[plan.id] = plan
        return out

    def _rows(self, year: int, plan_id: str | None = None) -> list[tuple]:
        sql = (
            "SELECT plan_id, unit, indicator, period, inputs, value, projection, target, achieved, rate,"
            " light, at_risk, sentence FROM results WHERE superseded_by IS NULL AND year = ?"
        )
        args: list = [year]
        if plan_id:
            sql += " AND plan_id = ?"
            args.append(plan_id)
        return self.conn.execute(sql + " ORDER BY id", args).fetchall()

    @staticmethod
    def _result(row: tuple) -> IndicatorResult:
        _, _, ind, period, inputs, value, proj, target, achieved, rate, light, at_risk, sentence = row
        return IndicatorResult(
            indicator=ind,
            period=period,
            inputs={k: _dec(v) for k, v in json.loads(inputs).items()},
            value=_dec(value),
            projection=_dec(proj),
            target=target,
            achieved=None if achieved is None else bool(achieved),
            achievement_rate=_dec(rate),
            light=light,
            at_risk=None if at_risk is None else bool(at_risk),
            sentence=sentence,
            cells={},
        )

    def results(self, *, year: int, plan_id: str | None = None) -> dict[str, list[IndicatorResult]]:
        """Current results of one year, per unit (every period)."""
        out: dict[str, list[IndicatorResult]] = {}
        for row in self._rows(year, plan_id):
            out.setdefault(row[1], []).append(self._result(row))
        return out

    def years(self) -> list[int]:
        """Years with archived results."""
        return [y for (y,) in self.conn.execute("SELECT DISTINCT year FROM results ORDER BY year")]

    def report_data(
        self, plans: list[Plan] | None = None, year: int | None = None
    ) -> tuple[dict[str, Plan], dict]:
        """(plans by id, data by plan → (year, period) → unit) of the current rows."""
        known = self.plans()
        known.update({p.id: p for p in plans or []})
        data: dict = {}
        years = [year] if year is not None else self.years()
        for y in years:
            for row in self._rows(y):
                if row[0] not in known:
                    continue
                r = self._result(row)
                slot = (
                    data.setdefault(row[0], {}).setdefault((y, r.period), {}).setdefault(row[1], UnitData())
                )
                slot.results.append(r)
        for plan_id, year_, period, unit, kind, key, prog, text in self.conn.execute(
            "SELECT plan_id, year, period, unit, kind, key, progress, text FROM staff_text"
            " WHERE superseded_by IS NULL"
        ):
            slot = data.get(plan_id, {}).get((year_, period), {}).get(unit)
            if slot is None:
                continue
            if kind == "note":
                slot.notes[key] = text
            else:
                slot.progress[key] = (_dec(prog), text)
        return known, data


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to :data:`SCHEMA_VERSION`; refuse one made by a newer version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"彙整資料庫版本 {version} 較本程式新（{SCHEMA_VERSION}），請更新 kpi-workbook"
            f" / the archive is version {version}, newer than this program's {SCHEMA_VERSION}; upgrade"
        )
    for n in range(version, SCHEMA_VERSION):
        # One transaction per step: a failed migration leaves the previous version intact.
        conn.executescript(f"BEGIN; {MIGRATIONS[n]} PRAGMA user_version = {n + 1}; COMMIT;")
    return SCHEMA_VERSION


def archive_collection(path: str | Path, coll: Collection, paths: Iterable[str | Path]) -> Added:
    """The one call ``kpi collect --archive`` makes after collecting."""
    with Archive.open(path) as arc:
        return arc.add(coll, paths)
