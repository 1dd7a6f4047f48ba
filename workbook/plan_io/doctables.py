"""Tables and paragraphs of a plan document (.docx with python-docx, .odt with odfpy).

Both formats become the same thing: the body's paragraphs and tables in order,
each table a rectangular grid of :class:`Cell` in which a merged cell's area is
filled with continuations that point back at its text.  Vertical merges are
python-docx's ``w:vMerge`` and ODF's ``number-rows-spanned`` with
``covered-table-cell``; horizontal ones ``w:gridSpan`` and ``number-columns-spanned``.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from workbook.errors import os_words
from workbook.formats.files import WorkbookFileError
from workbook.formats.guard import MAX_RATIO, MAX_TOTAL_BYTES, _has_dtd

#: A plan document's tables are small; anything beyond this is not a plan.
MAX_ROWS, MAX_COLS = 5000, 64


@dataclass
class Cell:
    """One grid position: its text, and whether it continues a merged cell above or to the left."""

    paragraphs: list[str]
    from_above: bool = False  # a vertical merge's continuation
    from_left: bool = False  # a horizontal merge's continuation

    @property
    def text(self) -> str:
        """The cell's paragraphs joined with newlines, stripped."""
        return "\n".join(p for p in self.paragraphs if p.strip()).strip()


@dataclass
class Table:
    """A table of the document and the paragraphs just before it."""

    rows: list[list[Cell]]
    index: int  # 1-based, in document order
    before: list[str] = field(default_factory=list)  # paragraphs between the previous table and this


@dataclass
class Document:
    """The body of a plan document."""

    paragraphs: list[str]
    tables: list[Table]


class DocumentError(WorkbookFileError):
    """A plan document that cannot be imported; names the table and cell."""

    code = "plan_document"


def _refuse(path: Path, zh: str, en: str) -> DocumentError:
    return DocumentError(zh, en, path=path)


def _package(path: Path, required: str) -> bytes:
    """The file's bytes, after the checks a zip package needs before any XML parser sees it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        zh, en = os_words(exc)
        raise _refuse(path, f"無法讀取檔案：{zh}", f"cannot read the file: {en}") from exc
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(
            path,
            "這是舊版 Word 97-2003 (.doc) 檔，請另存為 .docx 或 .odt",
            "a legacy .doc file; save it as .docx or .odt",
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
        names = {i.filename for i in infos}
        if required not in names:
            raise _refuse(path, "不是 Word 或 ODT 文件", f"not a .docx/.odt document (no {required})")
        if sum(i.file_size for i in infos) > MAX_TOTAL_BYTES or any(
            i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(1, i.compress_size) for i in infos
        ):
            raise _refuse(
                path, "文件解壓後過大，疑似壓縮炸彈，拒絕開啟", "the document inflates too much (zip bomb)"
            )
        for info in infos:
            if info.filename.endswith(".xml") and _has_dtd(archive.read(info)[:65536]):
                raise _refuse(path, "文件含有不允許的 XML 宣告（DTD）", f"{info.filename} declares a DTD")
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise _refuse(path, "檔案不完整或已損毀", f"the file is truncated or damaged ({exc})") from exc
    return data


def read_document(path: Path) -> Document:
    """Paragraphs and tables of a .docx or .odt file."""
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return _read_docx(path, _package(path, "word/document.xml"))
    if suffix == ".odt":
        return _read_odt(path, _package(path, "content.xml"))
    raise _refuse(path, "僅能匯入 .docx 或 .odt 文件", "only .docx and .odt documents can be imported")


def _grid(path: Path, rows: list[list[Cell]], index: int) -> list[list[Cell]]:
    if len(rows) > MAX_ROWS or any(len(r) > MAX_COLS for r in rows):
        raise _refuse(path, f"第 {index} 個表格過大", f"table {index} is too large")
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        r.extend(Cell([]) for _ in range(width - len(r)))
    return rows


# -- .docx ------------------------------------------------------------------


def _read_docx(path: Path, data: bytes) -> Document:
    import docx
    from docx.oxml.ns import qn

    try:
        body = docx.Document(io.BytesIO(data)).element.body
    except Exception as exc:  # python-docx raises many types for a bad file
        raise _refuse(
            path, "無法開啟 Word 文件，檔案可能已損毀", f"cannot open the document ({type(exc).__name__})"
        ) from exc

    breaks = {qn("w:br"): "\n", qn("w:cr"): "\n", qn("w:tab"): "\t"}
    deleted_text = {qn("w:delText"): True}

    def para_text(p, *, with_deleted: bool = False) -> str:
        # w:t is the text; w:delText is text a tracked change deleted (kept only for a deleted row).
        out = []
        for el in p.iter():
            if el.tag == qn("w:t") or (with_deleted and el.tag in deleted_text):
                out.append(el.text or "")
            else:
                out.append(breaks.get(el.tag, ""))
        return "".join(out)

    def through_controls(node, *tags: str):
        """Children of ``node`` with one of ``tags``, also inside content controls (w:sdt),
        which Word puts around paragraphs, tables, rows or cells."""
        for child in node.iterchildren():
            if child.tag in tags:
                yield child
            elif child.tag == qn("w:sdt"):
                inner = child.find(qn("w:sdtContent"))
                if inner is not None:
                    yield from through_controls(inner, *tags)

    def contents(node):
        """Paragraphs and tables in reading order."""
        return through_controls(node, qn("w:p"), qn("w:tbl"))

    def row_deleted(tr) -> bool:
        pr = tr.find(qn("w:trPr"))
        return pr is not None and pr.find(qn("w:del")) is not None

    paragraphs: list[str] = []
    tables: list[Table] = []
    before: list[str] = []

    def read_table(tbl) -> None:
        nested: list = []  # tables inside cells (a layout table holding the real one)
        rows: list[list[Cell]] = []
        previous: list[Cell] | None = None  # the row above, even a deleted one
        previous_deleted = False
        for tr in through_controls(tbl, qn("w:tr")):
            deleted = row_deleted(tr)
            row: list[Cell] = []
            for tc in through_controls(tr, qn("w:tc")):
                pr = tc.find(qn("w:tcPr"))
                span, vmerge = 1, None
                if pr is not None:
                    gs = pr.find(qn("w:gridSpan"))
                    span = int(gs.get(qn("w:val"), "1")) if gs is not None else 1
                    vm = pr.find(qn("w:vMerge"))
                    vmerge = None if vm is None else (vm.get(qn("w:val")) or "continue")
                blocks = list(contents(tc))
                nested += [b for b in blocks if b.tag == qn("w:tbl")]
                texts = [para_text(b, with_deleted=deleted) for b in blocks if b.tag == qn("w:p")]
                col = len(row)
                above = previous[col] if previous and col < len(previous) and vmerge == "continue" else None
                # A merged cell whose first row was deleted (a tracked change) starts in this row.
                continues = above is not None and not (previous_deleted and not above.from_above)
                first = Cell(above.paragraphs if above else texts, from_above=continues)
                row.append(first)
                row.extend(
                    Cell(first.paragraphs, from_above=first.from_above, from_left=True)
                    for _ in range(span - 1)
                )
            previous, previous_deleted = row, deleted
            if not deleted:  # a deleted row is not in the document once the change is accepted
                rows.append(row)
        if rows and any(c.text for r in rows for c in r):
            tables.append(Table(_grid(path, rows, len(tables) + 1), len(tables) + 1, list(before)))
            before.clear()
        for inner in nested:
            read_table(inner)

    for child in contents(body):
        if child.tag == qn("w:p"):
            text = para_text(child).strip()
            if text:
                paragraphs.append(text)
                before.append(text)
        else:
            read_table(child)
    return Document(paragraphs, tables)


# -- .odt -------------------------------------------------------------------


def _read_odt(path: Path, data: bytes) -> Document:
    from odf import teletype
    from odf.namespaces import TABLENS, TEXTNS
    from odf.opendocument import load

    try:
        doc = load(io.BytesIO(data))
    except Exception as exc:  # odfpy raises many types for a bad file
        raise _refuse(
            path, "無法開啟 ODT 文件，檔案可能已損毀", f"cannot open the document ({type(exc).__name__})"
        ) from exc

    def texts(node) -> list[str]:
        out: list[str] = []
        for child in node.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            if child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                out.append(teletype.extractText(child))
            elif child.qname[0] == TEXTNS:  # lists, sections
                out.extend(texts(child))
        return out

    def rows_of(tbl) -> list:
        out = []
        for child in tbl.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            if child.qname == (TABLENS, "table-row"):
                repeat = int(child.getAttrNS(TABLENS, "number-rows-repeated") or 1)
                out.extend([child] * min(repeat, 2))  # a long run of repeated empty rows is padding
            elif child.qname[0] == TABLENS and child.qname[1] in (
                "table-header-rows",
                "table-rows",
                "table-row-group",
            ):
                out.extend(rows_of(child))
        return out

    def table(tbl, index: int, nested: list) -> list[list[Cell]]:
        rows: list[list[Cell]] = []
        pending: dict[tuple[int, int], Cell] = {}  # positions a rows-spanned cell covers
        for r, tr in enumerate(rows_of(tbl)):
            row: list[Cell] = []
            for tc in tr.childNodes:
                if tc.nodeType != tc.ELEMENT_NODE or tc.qname[0] != TABLENS:
                    continue
                if tc.qname[1] not in ("table-cell", "covered-table-cell"):
                    continue
                repeat = min(int(tc.getAttrNS(TABLENS, "number-columns-repeated") or 1), MAX_COLS)
                for _ in range(repeat):
                    col = len(row)
                    if tc.qname[1] == "covered-table-cell":
                        origin = pending.pop((r, col), None)
                        if origin is not None:
                            row.append(Cell(origin.paragraphs, from_above=True))
                        elif row:
                            row.append(
                                Cell(row[-1].paragraphs, from_above=row[-1].from_above, from_left=True)
                            )
                        else:
                            row.append(Cell([]))
                        continue
                    cell = Cell(texts(tc))
                    nested += [n for n in tc.childNodes if getattr(n, "qname", None) == (TABLENS, "table")]
                    row.append(cell)
                    down = int(tc.getAttrNS(TABLENS, "number-rows-spanned") or 1)
                    across = int(tc.getAttrNS(TABLENS, "number-columns-spanned") or 1)
                    for dr in range(1, min(down, MAX_ROWS)):
                        for dc in range(min(across, MAX_COLS)):
                            pending[(r + dr, col + dc)] = cell
            rows.append(row)
        return _grid(path, rows, index)

    paragraphs: list[str] = []
    tables: list[Table] = []
    before: list[str] = []

    def walk(node) -> None:
        for child in node.childNodes:
            if child.nodeType != child.ELEMENT_NODE:
                continue
            if child.qname == (TABLENS, "table"):
                walk_table(child, list(before))
                before.clear()
            elif child.qname in ((TEXTNS, "p"), (TEXTNS, "h")):
                text = teletype.extractText(child).strip()
                if text:
                    paragraphs.append(text)
                    before.append(text)
            elif child.qname[0] == TEXTNS:
                walk(child)

    def walk_table(tbl, before_it: list[str]) -> None:
        nested: list = []  # tables inside cells: a layout table holding the real one
        tables.append(Table(table(tbl, len(tables) + 1, nested), len(tables) + 1, before_it))
        for inner in nested:
            walk_table(inner, [])

    walk(doc.text)
    return Document(paragraphs, tables)
