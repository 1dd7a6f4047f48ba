"""The archive: the collection itself, kept across collects, periods and years.

One SQLite file (stdlib ``sqlite3``) the coordinator can back up.  The schema lives
here only, versioned with ``PRAGMA user_version`` and migrated forward on open.

* Every file a collect read is kept as read: its times (saved, email, modified), its
  counts (``results``), its staff text (``texts``) and its findings, with its SHA-256.
  A file already archived adds nothing (unless it was first archived without its plan).
* The collection is rebuilt from those files with the very merge ``kpi collect`` uses
  (:func:`kpi_engine.consolidate.build_ledger`), so the archive's report equals the
  inbox's, cell for cell; the ledger of winning cells, with the value and file each
  replaced, is stored in ``cells`` for anyone who asks where a number came from.
* Writers take SQLite's write lock first (``BEGIN IMMEDIATE``, waiting up to a minute),
  so two coordinators collecting into one archive at once lose nothing.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from kpi_engine import Plan, PlanError, evaluate, parse_plan
from kpi_engine.consolidate import COUNTED, Submission
from kpi_engine.evaluate import IndicatorResult
from kpi_engine.findings import Finding
from workbook.collect import Collection
from workbook.report.errors import ReportError

#: Marks our databases (``PRAGMA application_id``): "KPIW".
APPLICATION_ID = 0x4B504957
#: Seconds a writer waits for another collect's write lock before saying the archive is busy.
LOCK_WAIT = 60.0
#: Our tables: a database holding any other table belongs to another program.
TABLES = frozenset({"plans", "files", "results", "staff_text", "findings", "texts", "cells"})

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
        version_time TEXT,
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
        inputs        TEXT NOT NULL,
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
        key           TEXT NOT NULL,
        progress      TEXT,
        text          TEXT NOT NULL,
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
    # 2 (issue 19): files as read (times, status before the merge), all staff text per file
    # (.ods notes included), and the ledger. Version 1 kept the newest *file* per indicator;
    # its per-file rows are kept and merged per input cell from now on.
    """
    ALTER TABLE files ADD COLUMN period TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN calculated_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN saved_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN sent_at TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN sent_shown TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN mtime TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN read_status TEXT NOT NULL DEFAULT '';
    ALTER TABLE files ADD COLUMN read_reason TEXT NOT NULL DEFAULT '';
    UPDATE files SET saved_at = COALESCE(version_time, ''), read_status = status, read_reason = COALESCE(reason, '');
    UPDATE files SET read_status = CASE
        WHEN EXISTS (SELECT 1 FROM findings WHERE file_id = files.id AND severity = 'error') THEN 'errors'
        WHEN EXISTS (SELECT 1 FROM findings WHERE file_id = files.id) THEN 'warnings'
        ELSE 'ok' END, read_reason = ''
      WHERE status = 'duplicate';
    DELETE FROM findings WHERE code = 'conflict';
    CREATE TABLE texts (
        file_id INTEGER NOT NULL REFERENCES files(id),
        period  TEXT NOT NULL,
        field   TEXT NOT NULL CHECK (field IN ('note', 'progress', 'description')),
        target  TEXT NOT NULL,
        value   TEXT NOT NULL,
        number  INTEGER NOT NULL,
        PRIMARY KEY (file_id, period, field, target)
    );
    INSERT OR IGNORE INTO texts SELECT file_id, period, 'note', key, text, 0 FROM staff_text WHERE kind = 'note';
    INSERT OR IGNORE INTO texts SELECT file_id, period, 'progress', key, progress, 1 FROM staff_text
      WHERE kind = 'progress' AND progress IS NOT NULL;
    INSERT OR IGNORE INTO texts SELECT file_id, period, 'description', key, text, 0 FROM staff_text
      WHERE kind = 'progress' AND text != '';
    CREATE TABLE cells (
        fingerprint      TEXT NOT NULL,
        plan_id          TEXT NOT NULL,
        year             INTEGER NOT NULL,
        unit             TEXT NOT NULL,
        period           TEXT NOT NULL,
        field            TEXT NOT NULL,
        target           TEXT NOT NULL,
        role             TEXT NOT NULL,
        value            TEXT NOT NULL,
        file_id          INTEGER NOT NULL REFERENCES files(id),
        time             TEXT NOT NULL,
        replaced         TEXT,
        replaced_file_id INTEGER REFERENCES files(id),
        PRIMARY KEY (fingerprint, year, unit, period, field, target, role)
    );
    CREATE INDEX files_plan ON files (fingerprint, year);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class ArchiveError(ReportError):
    """An archive that cannot be used: missing, locked, full, read-only, foreign, damaged or newer."""

    code = "archive"


@dataclass
class Added:
    """What one :meth:`Archive.add` changed."""

    files: int = 0
    already: int = 0  # files archived before (same SHA-256): nothing added
    results: int = 0  # indicator × period rows of the new files
    texts: int = 0
    findings: int = 0
    cells: int = 0  # the ledger's cells in the plans and years touched
    replaced: int = 0  # of those, cells whose value replaced an older file's


def _num(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _flag(b: bool | None) -> int | None:
    return None if b is None else int(b)


def _stored(v: Any) -> tuple[str, int]:
    """A cell value as (text, is a number): numbers exactly, a whole float without ".0"."""
    if isinstance(v, bool) or not isinstance(v, (int, float, Decimal)):
        return str(v), 0
    if isinstance(v, float):
        return (str(int(v)) if v.is_integer() else repr(v)), 1
    d = Decimal(v)
    return (str(int(d)) if d == d.to_integral_value() else format(d.normalize(), "f")), 1


def _loaded(text: str, number: int) -> Any:
    return Decimal(text) if number else text


def _words(exc: BaseException, path: Path) -> ArchiveError:
    """What SQLite (or the system) refused, in words that tell the cases apart."""
    text = str(exc).lower()
    err = getattr(exc, "errno", None)
    if "locked" in text or "busy" in text:
        zh, en = (
            f"彙整資料庫正由另一程式使用中（已等候 {LOCK_WAIT:.0f} 秒），請稍後再試",
            f"the archive is locked by another program (waited {LOCK_WAIT:.0f} s); try again later",
        )
    elif "full" in text or err == errno.ENOSPC:
        zh, en = "磁碟已滿，彙整資料庫未更新", "the disk is full; the archive was not changed"
    elif "readonly" in text or "read-only" in text or err in (errno.EACCES, errno.EPERM, errno.EROFS):
        zh, en = "彙整資料庫為唯讀，無法寫入", "the archive is read-only and cannot be written"
    elif "not a database" in text or "malformed" in text or "encrypted" in text:
        zh, en = "不是 SQLite 檔或已損毀", "not an SQLite file, or damaged"
    elif "unable to open" in text:
        zh, en = (
            "無法開啟彙整資料庫（資料夾不存在或無權限）",
            "cannot open the archive (no such folder, or no permission)",
        )
    else:
        zh, en = "無法使用彙整資料庫", "cannot use the archive"
    return ArchiveError(f"{zh}：{path}（{exc}）", f"{en}: {path} ({exc})", path=path)


def _statements(script: str) -> Iterator[str]:
    """The statements of a migration, one by one (``executescript`` would commit our transaction)."""
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf.strip()
            buf = ""


def _ours(conn: sqlite3.Connection, path: Path) -> int:
    """The schema version of our database; refuse another program's or a newer one."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    foreign = (app not in (0, APPLICATION_ID)) or bool(tables - TABLES) or (version == 0 and tables)
    if foreign:
        raise ArchiveError(
            f"這是另一程式的資料庫，不是彙整資料庫，未做任何更動：{path}",
            f"this is another program's database, not a KPI archive; nothing was changed: {path}",
            path=path,
        )
    if version > SCHEMA_VERSION:
        raise ArchiveError(
            f"彙整資料庫版本 {version} 較本程式新（{SCHEMA_VERSION}），請更新 kpi-workbook"
            f" / the archive is version {version}, newer than this program's {SCHEMA_VERSION}; upgrade"
        )
    return version


def migrate(conn: sqlite3.Connection, path: Path | None = None) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` in one write transaction; refuse foreign or newer ones."""
    path = path or Path("?")
    if _ours(conn, path) == SCHEMA_VERSION:
        return SCHEMA_VERSION
    conn.execute("BEGIN IMMEDIATE")  # another process may be migrating: read the version under the lock
    try:
        version = _ours(conn, path)
        for n in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[n]):
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return SCHEMA_VERSION


def _may_write(path: Path) -> bool:
    """Whether this process may write the archive (else it is opened read-only)."""
    return os.access(path, os.W_OK)


class Archive:
    """An open archive database."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path

    @classmethod
    @contextmanager
    def open(cls, path: str | Path, *, create: bool = True) -> Iterator[Archive]:
        """Open (and migrate) the archive at ``path``.

        ``create=False`` (reading) refuses a missing file and opens read-only, so a
        read-only archive can be reported from.  A file this call created and could not
        finish is removed again: no empty "archive" is left behind.
        """
        path = Path(path)
        if not create and not path.is_file():
            raise ArchiveError(f"找不到彙整資料庫：{path} / no such archive: {path}", path=path)
        if path.exists() and not path.is_file():
            raise ArchiveError(
                f"彙整資料庫須為一般檔案：{path} / the archive must be a regular file", path=path
            )
        new = not path.exists()
        writable = create or _may_write(path)
        conn = None
        try:
            uri = path.absolute().as_uri() + ("" if writable else "?mode=ro")
            conn = sqlite3.connect(uri, uri=True, timeout=LOCK_WAIT, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            if writable:
                migrate(conn, path)
            elif _ours(conn, path) != SCHEMA_VERSION:
                raise ArchiveError(
                    f"彙整資料庫為唯讀且須升級為新版結構，請先取得寫入權限：{path}",
                    f"the archive is read-only and needs upgrading to this version first: {path}",
                    path=path,
                )
            yield cls(conn, path)
        except (sqlite3.Error, OSError) as exc:
            if conn is not None:
                conn.close()
                conn = None
            if new and create and path.is_file() and path.stat().st_size == 0:
                path.unlink()
            raise _words(exc, path) from None
        finally:
            if conn is not None:
                conn.close()

    # -- writing -----------------------------------------------------------------------

    def add(self, coll: Collection, now: datetime | None = None) -> Added:
        """Archive one collect's files as read, then rebuild the ledger of what they touched.

        One write transaction: another collect into the same archive waits for it, then
        merges with it, so neither loses a file.
        """
        stamp = (now or datetime.now()).isoformat(sep=" ", timespec="seconds")
        added = Added()
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for plan in coll.plans:
                self.conn.execute(
                    "INSERT OR IGNORE INTO plans VALUES (?, ?, ?, ?, ?)",
                    (plan.fingerprint, plan.id, plan.year, plan.text, stamp),
                )
            touched: set[tuple[str, int]] = set()
            for sub in coll.submissions:
                if sub.sha256 and self._add_file(sub, stamp, added):
                    touched.add((sub.fingerprint, sub.year or 0))
            in_hand = {p.fingerprint: p for p in coll.plans}  # the same plan as stored: not parsed again
            for fingerprint, year in sorted(touched):
                self._ledger(fingerprint, year, added, in_hand)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return added

    def _add_file(self, sub: Submission, stamp: str, added: Added) -> bool:
        """Keep one file as read; True when it brings counts or text to merge."""
        status, reason, findings = sub.as_read or (sub.status, sub.reason, sub.findings)
        old = self.conn.execute(
            "SELECT id, read_status FROM files WHERE sha256 = ?", (sub.sha256,)
        ).fetchone()
        if old is not None:
            if old[1] in COUNTED or status not in COUNTED:
                added.already += 1
                return False
            # First archived without its plan (or unreadable then): now read with it, it counts.
            for table in ("results", "texts", "findings", "staff_text"):
                self.conn.execute(f"DELETE FROM {table} WHERE file_id = ?", (old[0],))
            self.conn.execute("DELETE FROM files WHERE id = ?", (old[0],))
        file_id = self.conn.execute(
            "INSERT INTO files (sha256, source, size, status, reason, plan_id, fingerprint, unit, owner, year,"
            " version_time, collected_at, period, calculated_at, saved_at, sent_at, sent_shown, mtime,"
            " read_status, read_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                sub.when,
                stamp,
                sub.period,
                sub.calculated_at,
                sub.saved_at,
                sub.sent_at,
                sub.sent_shown,
                sub.mtime,
                status,
                reason,
            ),
        ).lastrowid
        added.files += 1
        # Rows go in with executemany: one statement prepared per table, not per row.
        self.conn.executemany(
            "INSERT INTO findings (file_id, code, severity, indicator, input, period, sheet, cell,"
            " message_zh, message_en) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
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
                )
                for f in findings
            ],
        )
        added.findings += len(findings)
        if status not in COUNTED or sub.year is None:
            return False
        self.conn.executemany(
            "INSERT INTO results (file_id, plan_id, fingerprint, year, period, unit, owner, indicator,"
            " inputs, value, projection, target, achieved, rate, light, at_risk, sentence)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
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
                )
                for r in sub.results
            ],
        )
        added.results += len(sub.results)
        self.conn.executemany(
            "INSERT OR REPLACE INTO texts VALUES (?, ?, ?, ?, ?, ?)",
            [
                (file_id, period, fld, target, *_stored(value))
                for (fld, period, target), value in sub.texts.items()
            ],
        )
        added.texts += len(sub.texts)
        return True

    def _ledger(self, fingerprint: str, year: int, added: Added, in_hand: dict[str, Plan]) -> None:
        """Merge every archived file of one plan and year again; store the cells and the files' verdicts."""
        plan = in_hand.get(fingerprint) or self._plans_by_fingerprint().get(fingerprint)
        if plan is None:
            return
        coll = self._collection([plan], {fingerprint: plan}, year)
        ids = dict(
            self.conn.execute(
                "SELECT sha256, id FROM files WHERE fingerprint = ? AND year = ?", (fingerprint, year)
            )
        )
        self.conn.execute("DELETE FROM cells WHERE fingerprint = ? AND year = ?", (fingerprint, year))
        cells = list(coll.cells)
        self.conn.executemany(
            "INSERT INTO cells VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    fingerprint,
                    c.plan_id,
                    c.year,
                    c.unit,
                    c.period,
                    c.field,
                    c.target,
                    c.role,
                    _stored(c.value)[0],
                    ids[c.sha256],
                    c.when,
                    None if c.replaced is None else _stored(c.replaced)[0],
                    ids.get(c.replaced_sha256),
                )
                for c in cells
            ],
        )
        added.cells += len(cells)
        added.replaced += sum(c.replaced_source != "" for c in cells)
        self.conn.executemany(
            "UPDATE files SET status = ?, reason = ? WHERE sha256 = ?",
            [(sub.status, sub.reason, sub.sha256) for sub in coll.submissions],
        )

    # -- reading -----------------------------------------------------------------------

    def _plans_by_fingerprint(self) -> dict[str, Plan]:
        out: dict[str, Plan] = {}
        for fingerprint, text, plan_id in self.conn.execute(
            "SELECT fingerprint, text, plan_id FROM plans ORDER BY rowid"
        ):
            try:
                out[fingerprint] = parse_plan(text, source=f"{self.path}:{plan_id}")
            except PlanError:
                continue
        return out

    def plans(self) -> dict[str, Plan]:
        """The archived plans by id (the latest text of each id)."""
        return {p.id: p for p in self._plans_by_fingerprint().values()}

    def years(self) -> list[int]:
        """Years with archived counts."""
        return [y for (y,) in self.conn.execute("SELECT DISTINCT year FROM results ORDER BY year")]

    def collection(self, plans: list[Plan] | None = None, year: int | None = None) -> Collection:
        """The collection of every archived file (of ``year``), merged as ``kpi collect`` merges.

        A plan given whose id an archived plan has (an edited text of it) stands in for it:
        the files' counts are recomputed with the plan given.
        """
        archived = self._plans_by_fingerprint()
        given = {p.id: p for p in plans or []}
        use = {fp: given.get(p.id, p) for fp, p in archived.items()}
        for p in given.values():
            use.setdefault(p.fingerprint, p)
        chosen = list({p.fingerprint: p for p in use.values()}.values())
        return self._collection(chosen, use, year, recompute=True)

    def _collection(
        self, plans: list[Plan], use: dict[str, Plan], year: int | None, *, recompute: bool = False
    ) -> Collection:
        sql = (
            "SELECT id, sha256, source, size, read_status, read_reason, fingerprint, unit, owner, period,"
            " year, calculated_at, saved_at, sent_at, sent_shown, mtime FROM files"
        )
        args: list = []
        if year is not None:
            sql += " WHERE year = ?"
            args.append(year)
        coll = Collection(plans, plans_named=False)  # only plans something came of owe returns
        by_id: dict[int, Submission] = {}
        for row in self.conn.execute(sql + " ORDER BY id", args).fetchall():
            (
                fid,
                sha,
                source,
                size,
                status,
                reason,
                fp,
                unit,
                owner,
                period,
                y,
                calc,
                saved,
                sent,
                shown,
                mtime,
            ) = row
            plan = use.get(fp or "")
            if plan is None or status not in COUNTED:
                continue
            sub = Submission(
                source, sha, size or 0, status, reason or "", plan.id, plan.fingerprint, unit or ""
            )
            sub.owner, sub.period, sub.year, sub.calculated_at = owner or "", period or "", y, calc or ""
            sub.saved_at, sub.sent_at, sub.sent_shown, sub.mtime = saved, sent, shown, mtime
            by_id[fid] = sub
            coll.submissions.append(sub)
        if not by_id:
            return coll.consolidate()
        marks = ",".join("?" * len(by_id))
        keys = list(by_id)
        for fid, *f in self.conn.execute(
            "SELECT file_id, code, severity, indicator, input, period, message_zh, message_en, sheet, cell"
            f" FROM findings WHERE file_id IN ({marks}) ORDER BY id",
            keys,
        ):
            by_id[fid].findings.append(Finding(*f))
        for fid, period, fld, target, value, number in self.conn.execute(
            f"SELECT file_id, period, field, target, value, number FROM texts WHERE file_id IN ({marks})",
            keys,
        ):
            by_id[fid].texts[(fld, period, target)] = _loaded(value, number)
        for row in self.conn.execute(
            "SELECT file_id, indicator, period, inputs, value, projection, target, achieved, rate, light, at_risk,"
            f" sentence, fingerprint FROM results WHERE file_id IN ({marks}) ORDER BY id",
            keys,
        ):
            by_id[row[0]].results.append(_result(row))
        if recompute:
            self._recompute(by_id, use)
        return coll.consolidate()

    def _recompute(self, by_id: dict[int, Submission], use: dict[str, Plan]) -> None:
        """Every file's results computed again from its counts, by the engine and the plan in use
        (an edited text of the plan, when one is given): what is reported is never a stored copy."""
        for sub in by_id.values():
            plan = use.get(sub.fingerprint) or next(
                p for p in use.values() if p.fingerprint == sub.fingerprint
            )
            entries: dict[str, dict[str, dict]] = {}
            for r in sub.results:
                entries.setdefault(r.period, {})[r.indicator] = dict(r.inputs)
            if not entries:
                continue
            targets = "previous" if sub.year == plan.year - 1 else "current"
            ev = evaluate(plan, entries, targets=targets, year=sub.year)
            sub.results = [replace(r, cells={}) for r in ev.results]

    def results(self, *, year: int, plan_id: str | None = None) -> dict[str, list[IndicatorResult]]:
        """Current results of one year, per unit (every period), as the collection has them."""
        out: dict[str, list[IndicatorResult]] = {}
        for row in self.collection(year=year).rows:
            if plan_id is None or row.plan_id == plan_id:
                out.setdefault(row.unit, []).append(row.result)
        return out


def _result(row: tuple) -> IndicatorResult:
    _, ind, period, inputs, value, proj, target, achieved, rate, light, at_risk, sentence, _ = row
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


def archive_collection(path: str | Path, coll: Collection) -> Added:
    """The one call ``kpi collect --archive`` makes after collecting."""
    with Archive.open(path) as arc:
        return arc.add(coll)
