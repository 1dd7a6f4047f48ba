"""An OOXML ``styles.xml`` as ODF cell styles, data styles and page layouts (bytes only, no KPI).

Each cell format (``cellXfs`` entry) becomes one automatic cell style ``ce<N>`` that spells
out every property (font, fill, borders, alignment, wrap, protection, number format), so
nothing depends on LibreOffice's defaults; number formats become data styles ``N<k>``.
A differential format (``dxf``, a conditional format's look) is merged over the cell
format of each cell it colours: an ODF conditional style replaces the cell's style where
an .xlsx one adds to it, so the merged style keeps the cell's alignment, borders and font.
Sizes follow LibreOffice's own .xlsx import (column width = characters × 7/72 in; a row
height in whole pixels at 96 dpi, rounded down), so both formats print alike.
"""

from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass, field, replace
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import quoteattr

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"

#: Excel's built-in number formats that have no ``numFmt`` entry.
BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 14: "yyyy-mm-dd", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "yyyy-mm-dd h:mm", 37: "#,##0 ;(#,##0)",
    38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)", 40: "#,##0.00;[Red](#,##0.00)", 45: "mm:ss",
    46: "[h]:mm:ss", 47: "mmss.0", 48: "##0.0E+0", 49: "@",
}  # fmt: skip
#: The first colours of the legacy indexed palette (the rest are rare in generated files).
_INDEXED = ["000000", "FFFFFF", "FF0000", "00FF00", "0000FF", "FFFF00", "FF00FF", "00FFFF"] * 2
#: Border widths as LibreOffice writes Excel's line styles.
_BORDER = {
    "thin": "0.74pt solid", "hair": "0.06pt solid", "medium": "1.76pt solid", "thick": "2.49pt solid",
    "dashed": "0.74pt dashed", "dotted": "0.74pt dotted", "double": "1.1pt double",
    "mediumDashed": "1.76pt dashed", "dashDot": "0.74pt dash-dot", "mediumDashDot": "1.76pt dash-dot",
    "dashDotDot": "0.74pt dash-dot-dot", "mediumDashDotDot": "1.76pt dash-dot-dot", "slantDashDot": "1.76pt dash-dot",
}  # fmt: skip
_HALIGN = {
    "left": "start", "center": "center", "right": "end", "justify": "justify", "fill": "start",
    "centerContinuous": "center", "distributed": "justify",
}  # fmt: skip
_VALIGN = {"top": "top", "center": "middle", "bottom": "bottom", "justify": "middle", "distributed": "middle"}


def attr(name: str, value: Any) -> str:
    """`` name="value"`` with the value escaped for XML."""
    return f" {name}={quoteattr(str(value))}"


@dataclass(frozen=True)
class Font:
    name: str | None = None
    size: float | None = None
    bold: bool | None = None
    italic: bool | None = None
    underline: str | None = None
    strike: bool | None = None
    color: str | None = None


@dataclass(frozen=True)
class Look:
    """One cell format, resolved: what an ODF cell style needs."""

    font: Font = field(default_factory=Font)
    fill: str | None = None
    borders: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None)  # l r t b
    halign: str | None = None
    valign: str | None = None
    wrap: bool = False
    shrink: bool = False
    indent: int = 0
    rotation: int = 0
    locked: bool = True
    hidden: bool = False
    number: str = "General"


class Theme:
    """The package's theme colours (``xl/theme/theme1.xml``), for ``<color theme="n"/>``."""

    def __init__(self, xml: bytes | None) -> None:
        self.colors = [
            "FFFFFF",
            "000000",
            "E7E6E6",
            "44546A",
            "4472C4",
            "ED7D31",
            "A5A5A5",
            "FFC000",
            "5B9BD5",
            "70AD47",
        ]
        if not xml:
            return
        scheme = ET.fromstring(xml).find(f".//{_A}clrScheme")
        if scheme is None:
            return
        found = {}
        for el in scheme:
            tag = el.tag.rsplit("}", 1)[-1]
            c = el.find(f"{_A}srgbClr")
            s = el.find(f"{_A}sysClr")
            val = c.get("val") if c is not None else (s.get("lastClr") if s is not None else None)
            if val:
                found[tag] = val
        order = ["lt1", "dk1", "lt2", "dk2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6"]
        self.colors = [found.get(k, d) for k, d in zip(order, self.colors, strict=True)]


def color(el: ET.Element | None, theme: Theme) -> str | None:
    """An OOXML colour element as ``#rrggbb`` (``None`` for automatic or unknown)."""
    if el is None:
        return None
    rgb = el.get("rgb")
    if rgb:
        return "#" + rgb[-6:].lower()
    if el.get("theme") is not None:
        i = int(el.get("theme", "0"))
        if i >= len(theme.colors):
            return None
        base = theme.colors[i]
        tint = float(el.get("tint", "0"))
        return "#" + (_tinted(base, tint) if tint else base).lower()
    if el.get("indexed") is not None:
        i = int(el.get("indexed", "0"))
        return "#" + _INDEXED[i].lower() if i < len(_INDEXED) else None
    return None


def _tinted(rgb: str, tint: float) -> str:
    r, g, b = (int(rgb[i : i + 2], 16) / 255 for i in (0, 2, 4))
    h, lum, s = colorsys.rgb_to_hls(r, g, b)
    lum = lum * (1 + tint) if tint < 0 else lum * (1 - tint) + tint
    return "".join(f"{round(v * 255):02X}" for v in colorsys.hls_to_rgb(h, lum, s))


def _font(el: ET.Element | None, theme: Theme) -> Font:
    if el is None:
        return Font()

    def val(tag: str) -> str | None:
        x = el.find(NS + tag)
        return None if x is None else x.get("val", "1")

    def flag(tag: str) -> bool | None:
        v = val(tag)
        return None if v is None else v not in ("0", "false")

    size = val("sz")
    u = val("u")
    return Font(
        name=val("name"),
        size=float(size) if size else None,
        bold=flag("b"),
        italic=flag("i"),
        underline=None
        if u is None
        else ("double" if u.startswith("double") else "single" if u != "none" else None),
        strike=flag("strike"),
        color=color(el.find(NS + "color"), theme),
    )


def _fill(el: ET.Element | None, theme: Theme, *, dxf: bool = False) -> str | None:
    if el is None:
        return None
    p = el.find(NS + "patternFill")
    if p is None:
        return None
    kind = p.get("patternType", "solid" if dxf else "none")
    if kind == "none":
        return None
    fg, bg = color(p.find(NS + "fgColor"), theme), color(p.find(NS + "bgColor"), theme)
    if kind == "solid":
        # a dxf's solid fill is its bgColor (Excel's rule); a cell's is its fgColor
        return (bg or fg) if dxf else (fg or bg)
    return fg or bg  # a pattern drawn as its foreground colour (ODF has no cell patterns)


def _borders(el: ET.Element | None, theme: Theme) -> tuple[str | None, ...]:
    if el is None:
        return (None, None, None, None)
    out = []
    for side in ("left", "right", "top", "bottom"):
        s = el.find(NS + side)
        if s is None:
            s = el.find(NS + {"left": "start", "right": "end"}.get(side, side))
        style = s.get("style") if s is not None else None
        if not style or style == "none":
            out.append(None)
            continue
        c = color(s.find(NS + "color"), theme) or "#000000"
        out.append(f"{_BORDER.get(style, '0.74pt solid')} {c}")
    return tuple(out)


class Styles:
    """Every cell format and differential format of one OOXML ``styles.xml``."""

    def __init__(self, xml: bytes | None, theme: Theme) -> None:
        self.theme = theme
        self.looks: list[Look] = []
        self.dxfs: list[tuple[Font, str | None, tuple[str | None, ...], str | None]] = []
        self.number_styles: dict[str, str] = {}  # format code → data style name
        self._number_xml: list[str] = []
        if not xml:
            self.looks.append(Look(font=Font("Calibri", 11.0)))
            return
        root = ET.fromstring(xml)
        codes = dict(BUILTIN_FORMATS)
        for nf in root.iterfind(f"{NS}numFmts/{NS}numFmt"):
            codes[int(nf.get("numFmtId", "0"))] = nf.get("formatCode", "General")
        fonts = [_font(f, theme) for f in root.iterfind(f"{NS}fonts/{NS}font")]
        fills = [_fill(f, theme) for f in root.iterfind(f"{NS}fills/{NS}fill")]
        borders = [_borders(b, theme) for b in root.iterfind(f"{NS}borders/{NS}border")]
        for xf in root.iterfind(f"{NS}cellXfs/{NS}xf"):
            al, pr = xf.find(NS + "alignment"), xf.find(NS + "protection")
            al_get = al.get if al is not None else (lambda _k, d=None: d)
            pr_get = pr.get if pr is not None else (lambda _k, d=None: d)
            self.looks.append(
                Look(
                    font=_pick(fonts, xf.get("fontId")) or Font(),
                    fill=_pick(fills, xf.get("fillId")),
                    borders=_pick(borders, xf.get("borderId")) or (None, None, None, None),
                    halign=al_get("horizontal"),
                    valign=al_get("vertical"),
                    wrap=al_get("wrapText") in ("1", "true"),
                    shrink=al_get("shrinkToFit") in ("1", "true"),
                    indent=int(al_get("indent") or 0),
                    rotation=int(al_get("textRotation") or 0),
                    locked=pr_get("locked") not in ("0", "false"),
                    hidden=pr_get("hidden") in ("1", "true"),
                    number=codes.get(int(xf.get("numFmtId", "0")), "General"),
                )
            )
        if not self.looks:
            self.looks.append(Look(font=fonts[0] if fonts else Font("Calibri", 11.0)))
        for d in root.iterfind(f"{NS}dxfs/{NS}dxf"):
            nf = d.find(NS + "numFmt")
            self.dxfs.append(
                (
                    _font(d.find(NS + "font"), theme),
                    _fill(d.find(NS + "fill"), theme, dxf=True),
                    _borders(d.find(NS + "border"), theme),
                    nf.get("formatCode") if nf is not None else None,
                )
            )

    def look(self, index: int) -> Look:
        return self.looks[index] if 0 <= index < len(self.looks) else self.looks[0]

    def merged(self, xf: int, dxf: int) -> Look:
        """The cell format ``xf`` with the differential format ``dxf`` laid over it."""
        base = self.look(xf)
        if not 0 <= dxf < len(self.dxfs):
            return base
        font, fill, borders, number = self.dxfs[dxf]
        f = base.font
        new_font = Font(
            *(
                getattr(font, k) if getattr(font, k) is not None else getattr(f, k)
                for k in ("name", "size", "bold", "italic", "underline", "strike", "color")
            )
        )
        return replace(
            base,
            font=new_font,
            fill=fill if fill is not None else base.fill,
            borders=tuple(n if n is not None else o for n, o in zip(borders, base.borders, strict=True)),  # type: ignore[arg-type]
            number=number or base.number,
        )

    def data_style(self, code: str) -> str | None:
        """The name of the data style for number format ``code`` (``None`` for General)."""
        if code in self.number_styles:
            return self.number_styles[code]
        body = number_style_xml(code, f"N{len(self.number_styles) + 1}")
        if body is None:
            return None
        name = f"N{len(self.number_styles) + 1}"
        self.number_styles[code] = name
        self._number_xml.append(body)
        return name

    def data_styles_xml(self) -> str:
        return "".join(self._number_xml)

    def fonts(self) -> list[str]:
        names = {look.font.name for look in self.looks if look.font.name}
        names |= {d[0].name for d in self.dxfs if d[0].name}
        return sorted(names)


def _pick(items: list, index: str | None) -> Any:
    i = int(index or 0)
    return items[i] if 0 <= i < len(items) else None


def cell_style_xml(name: str, look: Look, styles: Styles, *, family_attrs: str = "") -> str:
    """One ``style:style`` of family table-cell for ``look``."""
    data = styles.data_style(look.number)
    head = f'<style:style style:name="{name}" style:family="table-cell" style:parent-style-name="Default"'
    if data:
        head += f' style:data-style-name="{data}"'
    cell = ""
    if look.fill:
        cell += f' fo:background-color="{look.fill}"'
    b = look.borders
    if b[0] == b[1] == b[2] == b[3]:
        cell += f' fo:border="{b[0] or "none"}"'
    else:
        for side, v in zip(("left", "right", "top", "bottom"), b, strict=True):
            cell += f' fo:border-{side}="{v or "none"}"'
    cell += (
        f' style:text-align-source="{"fix" if look.halign and look.halign != "general" else "value-type"}"'
    )
    cell += ' style:repeat-content="false"' if look.halign != "fill" else ' style:repeat-content="true"'
    cell += ' fo:wrap-option="wrap"' if look.wrap else ""
    cell += f' style:shrink-to-fit="{"true" if look.shrink else "false"}"'
    if look.rotation:
        angle = look.rotation if look.rotation <= 90 else (360 - (look.rotation - 90)) % 360
        cell += f' style:rotation-angle="{angle}"'
    cell += f' style:vertical-align="{_VALIGN.get(look.valign or "bottom", "bottom")}"'
    protect = (
        ("hidden-and-protected" if look.hidden else "protected")
        if look.locked
        else ("formula-hidden" if look.hidden else "none")
    )
    cell += f' style:cell-protect="{protect}"'
    para = ""
    if look.halign and look.halign in _HALIGN:
        para += f' fo:text-align="{_HALIGN[look.halign]}"'
    if look.indent:
        para += f' fo:margin-left="{look.indent * 0.125:.4f}in"'
    out = f"{head}{family_attrs}><style:table-cell-properties{cell}/>"
    if para:
        out += f"<style:paragraph-properties{para}/>"
    out += f"<style:text-properties{text_properties(look.font)}/></style:style>"
    return out


def text_properties(f: Font) -> str:
    """The attributes of ``style:text-properties`` for a font (western, Asian and complex alike)."""
    out = ""
    if f.name:
        out += attr("style:font-name", f.name) + attr("style:font-name-asian", f.name)
        out += attr("style:font-name-complex", f.name)
    if f.size:
        size = f"{f.size:g}pt"
        out += f' fo:font-size="{size}" style:font-size-asian="{size}" style:font-size-complex="{size}"'
    weight = "bold" if f.bold else "normal"
    out += (
        f' fo:font-weight="{weight}" style:font-weight-asian="{weight}" style:font-weight-complex="{weight}"'
    )
    slant = "italic" if f.italic else "normal"
    out += f' fo:font-style="{slant}" style:font-style-asian="{slant}" style:font-style-complex="{slant}"'
    if f.underline:
        out += f' style:text-underline-style="solid" style:text-underline-type="{f.underline}"'
        out += ' style:text-underline-width="auto" style:text-underline-color="font-color"'
    if f.strike:
        out += ' style:text-line-through-style="solid" style:text-line-through-type="single"'
    out += f' fo:color="{f.color}"' if f.color else ' style:use-window-font-color="true"'
    return out


# -- number formats ---------------------------------------------------------------------

_DATE_PART = re.compile(r"(yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|am/pm)", re.I)


def _literal(text: str) -> str:
    from xml.sax.saxutils import escape

    return f"<number:text>{escape(text)}</number:text>" if text else ""


def _strip(section: str) -> list[tuple[str, str]]:
    """A format section as (kind, text) pieces: ``lit`` for literal text, ``code`` for the rest."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(("lit", section[i + 1 : j]))
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            out.append(("lit", section[i + 1]))
            i += 2
        elif ch == "[":  # colours, conditions, locales: not carried
            j = section.find("]", i)
            i = len(section) if j < 0 else j + 1
        elif ch in "_*":
            i += 2  # padding / fill characters
        else:
            out.append(("code", ch))
            i += 1
    return out


def number_style_xml(code: str, name: str) -> str | None:
    """An ODF data style for an Excel number format (its first section), or ``None`` when General.

    Numbers (decimals, grouping, percent, literal text around them), text ``@`` and
    dates/times are carried; what ODF data styles cannot say (colours, conditions,
    fractions) falls back to the plain number.
    """
    if code in ("General", ""):
        return None
    section = re.split(r";(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", code)[0]
    pieces = _strip(section)
    codes = "".join(t for k, t in pieces if k == "code")
    if codes.strip() == "@":
        return f'<number:text-style style:name="{name}"><number:text-content/></number:text-style>'
    if re.search(r"[yd]|(?<![#0])m|h|s", codes, re.I) and not re.search(r"[#0]", codes.replace("00", "")):
        return _date_style(pieces, name)
    m = re.search(r"[#0?,]*\.?[#0?]*(?:E[+-][0#]+)?", codes)
    digits = m.group(0) if m and re.search(r"[#0?]", m.group(0)) else ""
    if not digits:
        return None
    percent = "%" in codes
    integer, _, decimals = digits.partition(".")
    grouping = "," in integer
    attrs = f' number:decimal-places="{len(decimals)}" number:min-decimal-places="{decimals.count("0")}"'
    attrs += f' number:min-integer-digits="{integer.count("0")}"'
    if grouping:
        attrs += ' number:grouping="true"'
    lits_before, lits_after, seen = "", "", 0
    for k, t in pieces:
        if k == "code":
            seen += 1
        elif seen <= m.start():  # type: ignore[union-attr]
            lits_before += t
        else:
            lits_after += t
    kind = "percentage-style" if percent else "number-style"
    tail = lits_after + ("%" if percent else "")
    return (
        f'<number:{kind} style:name="{name}">{_literal(lits_before)}'
        f"<number:number{attrs}/>{_literal(tail)}</number:{kind}>"
    )


def _date_style(pieces: list[tuple[str, str]], name: str) -> str:
    body = ""
    text = "".join(t if k == "code" else f'"{t}"' for k, t in pieces)
    tokens = re.split(r'("[^"]*")', text)
    seen_hour = dated = False
    for tok in tokens:
        if tok.startswith('"'):
            body += _literal(tok[1:-1])
            continue
        pos = 0
        for m in _DATE_PART.finditer(tok):
            body += _literal(tok[pos : m.start()])
            p = m.group(0)
            low = p.lower()
            long = ' number:style="long"'
            dated = dated or low[0] in "yd" or (low[0] == "m" and not seen_hour)
            if low.startswith("y"):
                body += f"<number:year{long if len(p) == 4 else ''}/>"
            elif low.startswith("m") and seen_hour and len(p) <= 2:
                body += f"<number:minutes{long if len(p) == 2 else ''}/>"
            elif low.startswith("m"):
                textual = ' number:textual="true"' if len(p) >= 3 else ""
                body += f"<number:month{long if len(p) in (2, 4) else ''}{textual}/>"
            elif low.startswith("d"):
                body += (
                    f"<number:day-of-week{long if len(p) == 4 else ''}/>"
                    if len(p) >= 3
                    else (f"<number:day{long if len(p) == 2 else ''}/>")
                )
            elif low.startswith("h"):
                seen_hour = True
                body += f"<number:hours{long if len(p) == 2 else ''}/>"
            elif low.startswith("s"):
                body += f"<number:seconds{long if len(p) == 2 else ''}/>"
            else:
                body += "<number:am-pm/>"
            pos = m.end()
        body += _literal(tok[pos:])
    kind = "date-style" if dated else "time-style"
    return f'<number:{kind} style:name="{name}">{body}</number:{kind}>'


def is_date_format(code: str) -> bool:
    """Does this number format show a date or time (so a number in it is a date)?"""
    if code in ("General", "@") or not code:
        return False
    codes = "".join(t for k, t in _strip(code.split(";")[0]) if k == "code")
    return bool(re.search(r"[ydhs]|m", codes, re.I)) and not re.search(r"[#0?]", re.sub(r"[hms]0", "", codes))


def is_percent_format(code: str) -> bool:
    """Does this number format show a percentage?"""
    return "%" in "".join(t for k, t in _strip(code.split(";")[0]) if k == "code")
