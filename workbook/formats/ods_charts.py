"""A worksheet's DrawingML charts (OOXML) as ODF chart objects (bytes only, no KPI).

Each chart of the sheet's drawing becomes an embedded ``Object N`` (its own
``content.xml``) and a ``draw:frame`` in the sheet's ``table:shapes``, anchored where the
drawing puts it.  Carried: bar/column, line, area, pie and scatter plots (several in one
chart: a bar with a target line), clustered/stacked/percent grouping, series names,
categories and values as ranges of the sheet (LibreOffice reads the data from the sheet,
as it does for its own charts), series and data-point fill and line colours, the chart and
axis titles, axis minimum/maximum, major gridlines, the legend position, value labels.
What ODF charts cannot say (hidden legend entries, dash patterns) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from workbook.formats.ods_formula import range_address
from workbook.formats.ods_styles import attr

_C = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_X = "{http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_EMU_PER_INCH = 914400
_CLASSES = {
    "barChart": "chart:bar", "bar3DChart": "chart:bar", "lineChart": "chart:line", "line3DChart": "chart:line",
    "areaChart": "chart:area", "pieChart": "chart:circle", "doughnutChart": "chart:ring",
    "scatterChart": "chart:scatter", "radarChart": "chart:radar",
}  # fmt: skip
#: As LibreOffice's .xlsx import draws a chart (its DrawingML defaults): an 18 pt bold title,
#: 10 pt labels, bold axis titles, no wall or legend box.
_TITLE_TEXT = (
    '<style:text-properties fo:font-size="18pt" fo:font-weight="bold" style:font-size-asian="18pt"'
    ' style:font-weight-asian="bold" style:font-size-complex="18pt" style:font-weight-complex="bold"/>'
)
_AXIS_TITLE = '<style:text-properties fo:font-size="10pt" fo:font-weight="bold" style:font-size-asian="10pt" style:font-weight-asian="bold"/>'
_LIGHT_LINE = '<style:graphic-properties draw:stroke="solid" svg:stroke-color="#d9d9d9"/>'
_SMALL_TEXT = '<style:text-properties fo:font-size="10pt" style:font-size-asian="10pt"/>'
_NO_BOX = '<style:graphic-properties draw:stroke="none" draw:fill="none"/>'
_AREA_STYLE = (
    '<style:style style:name="area" style:family="chart"><style:graphic-properties draw:stroke="solid"'
    ' svg:stroke-color="#d9d9d9" draw:fill="solid" draw:fill-color="#ffffff"/></style:style>'
)
_LEGEND = {"b": "bottom", "t": "top", "l": "start", "r": "end", "tr": "top-end"}


@dataclass
class Placed:
    """Where a chart sits on its sheet (inches from the sheet's top left) and how big it is."""

    x: float
    y: float
    width: float
    height: float


def sheet_charts(
    read, drawing_part: str, rels, sheet: str, col_left, row_top, first_object: int
) -> tuple[str, dict[str, str]]:
    """(``table:shapes`` XML, {member name: chart content.xml}) for one sheet's drawing.

    ``read(part)`` gives a package member's bytes, ``rels(part)`` its relationships
    (id → (type, part)); ``col_left(col0)`` / ``row_top(row0)`` give the inches from the
    sheet's left/top to a zero-based column/row.
    """
    root = ET.fromstring(read(drawing_part))
    links = rels(drawing_part)
    frames, objects = [], {}
    n = first_object
    for anchor in root:
        kind = anchor.tag.rsplit("}", 1)[-1]
        chart = anchor.find(f".//{_C}chart")
        if chart is None or kind not in ("oneCellAnchor", "twoCellAnchor", "absoluteAnchor"):
            continue
        target = links.get(chart.get(f"{_R}id", ""))
        if target is None:
            continue
        placed = _placed(anchor, col_left, row_top)
        name = f"Object {n}"
        n += 1
        content, ranges = _chart_content(ET.fromstring(read(target[1])), placed, sheet)
        objects[name] = content
        frames.append(
            f'<draw:frame draw:z-index="{n - first_object - 1}"{attr("draw:name", name)}'
            f' svg:width="{placed.width:.4f}in" svg:height="{placed.height:.4f}in"'
            f' svg:x="{placed.x:.4f}in" svg:y="{placed.y:.4f}in">'
            f"<draw:object{attr('draw:notify-on-update-of-ranges', ' '.join(ranges))}"
            f' xlink:href="./{name}" xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad"/>'
            "</draw:frame>"
        )
    shapes = f"<table:shapes>{''.join(frames)}</table:shapes>" if frames else ""
    return shapes, objects


def _int(el: ET.Element | None, default: int = 0) -> int:
    return int(el.text or default) if el is not None and el.text else default


def _val(el: ET.Element | None) -> int:
    """A chart element's ``val`` attribute as a number (``<c:idx val="1"/>``)."""
    return int(el.get("val", "0")) if el is not None else 0


def _placed(anchor: ET.Element, col_left, row_top) -> Placed:
    def point(el: ET.Element | None) -> tuple[float, float]:
        if el is None:
            return 0.0, 0.0
        col, row = _int(el.find(f"{_X}col")), _int(el.find(f"{_X}row"))
        return (
            col_left(col) + _int(el.find(f"{_X}colOff")) / _EMU_PER_INCH,
            row_top(row) + _int(el.find(f"{_X}rowOff")) / _EMU_PER_INCH,
        )

    pos = anchor.find(f"{_X}pos")
    if pos is not None:
        x, y = int(pos.get("x", "0")) / _EMU_PER_INCH, int(pos.get("y", "0")) / _EMU_PER_INCH
    else:
        x, y = point(anchor.find(f"{_X}from"))
    ext = anchor.find(f"{_X}ext")
    if ext is not None:
        w, h = int(ext.get("cx", "0")) / _EMU_PER_INCH, int(ext.get("cy", "0")) / _EMU_PER_INCH
    else:
        x2, y2 = point(anchor.find(f"{_X}to"))
        w, h = x2 - x, y2 - y
    return Placed(x, y, max(w, 0.1), max(h, 0.1))


def _text(el: ET.Element | None) -> str:
    if el is None:
        return ""
    return "".join(t.text or "" for t in el.iter(f"{_A}t")) or "".join(
        v.text or "" for v in el.iter(f"{_C}v")
    )


def _ref(el: ET.Element | None) -> str | None:
    f = el.find(f".//{_C}f") if el is not None else None
    return f.text.strip() if f is not None and f.text else None


def _fill(sp: ET.Element | None) -> tuple[str | None, str | None]:
    """(fill colour, line colour) of a shape's properties, ``#rrggbb``."""
    if sp is None:
        return None, None
    fill = sp.find(f"{_A}solidFill/{_A}srgbClr")
    line = sp.find(f"{_A}ln/{_A}solidFill/{_A}srgbClr")
    no_line = sp.find(f"{_A}ln/{_A}noFill")
    return (
        "#" + fill.get("val", "000000").lower() if fill is not None else None,
        "none"
        if no_line is not None
        else ("#" + line.get("val", "000000").lower() if line is not None else None),
    )


class _Styles:
    def __init__(self) -> None:
        self.xml: list[str] = []

    def add(self, props: str, text: str = "") -> str:
        name = f"ch{len(self.xml) + 1}"
        body = f"<style:chart-properties{props}/>" if props else ""
        graphic = ""
        if text:
            graphic = text
        self.xml.append(
            f'<style:style style:name="{name}" style:family="chart">{body}{graphic}</style:style>'
        )
        return name


def _graphic(fill: str | None, line: str | None) -> str:
    props = ""
    if fill:
        props += f' draw:fill="solid" draw:fill-color="{fill}"'
    if line == "none":
        props += ' draw:stroke="none"'
    elif line:
        props += f' draw:stroke="solid" svg:stroke-color="{line}" svg:stroke-width="0.03in"'
    return f"<style:graphic-properties{props}/>" if props else ""


def _chart_content(space: ET.Element, placed: Placed, sheet: str) -> tuple[str, list[str]]:
    chart = space.find(f"{_C}chart")
    plot = chart.find(f"{_C}plotArea") if chart is not None else None
    styles = _Styles()
    ranges: list[str] = []
    if chart is None or plot is None:
        return _document(styles, "", placed, "chart:bar"), ranges
    plots = [p for p in plot if p.tag.rsplit("}", 1)[-1] in _CLASSES]
    main = _CLASSES[plots[0].tag.rsplit("}", 1)[-1]] if plots else "chart:bar"
    props = ""
    first = plots[0] if plots else None
    if first is not None:
        bar_dir = first.find(f"{_C}barDir")
        if bar_dir is not None and bar_dir.get("val") == "bar":
            props += ' chart:vertical="true"'
        grouping = first.find(f"{_C}grouping")
        g = grouping.get("val") if grouping is not None else ""
        if g == "stacked":
            props += ' chart:stacked="true"'
        elif g == "percentStacked":
            props += ' chart:percentage="true"'
        gap = first.find(f"{_C}gapWidth")
        if gap is not None:
            props += f' chart:gap-width="{gap.get("val", "150")}"'
        overlap = first.find(f"{_C}overlap")
        if overlap is not None:
            props += f' chart:overlap="{overlap.get("val", "0")}"'
    body = ""
    title = chart.find(f"{_C}title")
    if title is not None and _text(title.find(f"{_C}tx")):
        t_style = styles.add("", _TITLE_TEXT)
        body += f'<chart:title chart:style-name="{t_style}"><text:p>{escape(_text(title.find(f"{_C}tx")))}</text:p></chart:title>'
    legend = chart.find(f"{_C}legend")
    hidden_entries: set[int] = set()
    if legend is not None:
        pos = legend.find(f"{_C}legendPos")
        where = _LEGEND.get(pos.get("val", "r") if pos is not None else "r", "end")
        l_style = styles.add("", _NO_BOX + _SMALL_TEXT)
        body += f'<chart:legend chart:legend-position="{where}" style:legend-expansion="wide" chart:style-name="{l_style}"/>'
        for entry in legend.iterfind(f"{_C}legendEntry"):
            gone = entry.find(f"{_C}delete")
            if gone is not None and gone.get("val") in ("1", "true"):
                hidden_entries.add(_val(entry.find(f"{_C}idx")))
    plot_style = styles.add(props + ' chart:include-hidden-cells="false"')
    axes = ""
    categories = ""
    series = ""
    for p in plots:
        cls = _CLASSES[p.tag.rsplit("}", 1)[-1]]
        for ser in p.iterfind(f"{_C}ser"):
            name = _ref(ser.find(f"{_C}tx"))
            values = _ref(ser.find(f"{_C}val")) or _ref(ser.find(f"{_C}yVal"))
            cats = _ref(ser.find(f"{_C}cat")) or _ref(ser.find(f"{_C}xVal"))
            if values is None:
                continue
            fill, line = _fill(ser.find(f"{_C}spPr"))
            sprops = ""
            marker = ser.find(f"{_C}marker/{_C}symbol")
            if cls == "chart:line":
                sprops += (
                    ' chart:symbol-type="none"' if marker is not None and marker.get("val") == "none" else ""
                )
                fill, line = None, line or fill
            labels = ser.find(f"{_C}dLbls/{_C}showVal")
            if labels is not None and labels.get("val") in ("1", "true"):
                sprops += ' chart:data-label-number="value"'
            s_style = styles.add(sprops, _graphic(fill, line))
            v_addr = range_address(values, sheet)
            ranges.append(v_addr)
            el = (
                f'<chart:series chart:style-name="{s_style}"{attr("chart:values-cell-range-address", v_addr)}'
            )
            if name:
                label = range_address(name, sheet)
                el += attr("chart:label-cell-address", label)
                ranges.append(label)
            if _val(ser.find(f"{_C}idx")) in hidden_entries:
                el += ' loext:hide-legend="true"'
            el += f' chart:class="{cls}">'
            points = {}
            for dp in ser.iterfind(f"{_C}dPt"):
                idx = _val(dp.find(f"{_C}idx"))
                f2, l2 = _fill(dp.find(f"{_C}spPr"))
                points[idx] = styles.add("", _graphic(f2, l2))
            for i in range(max(points) + 1 if points else 0):
                el += (
                    f'<chart:data-point chart:style-name="{points[i]}"/>'
                    if i in points
                    else "<chart:data-point/>"
                )
            series += el + "</chart:series>"
            if cats and not categories:
                categories = range_address(cats, sheet)
                ranges.append(categories)
    for ax in plot:
        tag = ax.tag.rsplit("}", 1)[-1]
        if tag not in ("catAx", "valAx", "dateAx"):
            continue
        dim = "x" if tag in ("catAx", "dateAx") or (axes == "" and main == "chart:scatter") else "y"
        if tag == "valAx" and main == "chart:scatter" and "primary-x" in axes:
            dim = "y"
        a_props = ""
        scaling = ax.find(f"{_C}scaling")
        for key in ("min", "max"):
            v = scaling.find(f"{_C}{key}") if scaling is not None else None
            if v is not None:
                a_props += f' chart:{"minimum" if key == "min" else "maximum"}="{v.get("val")}"'
        deleted = ax.find(f"{_C}delete")
        a_props += (
            ' chart:display-label="false"'
            if deleted is not None and deleted.get("val") in ("1", "true")
            else ""
        )
        shown = "false" if deleted is not None and deleted.get("val") in ("1", "true") else "true"
        a_props = a_props.replace(' chart:display-label="false"', "")
        a_style = styles.add(
            a_props + f' chart:display-label="{shown}" chart:tick-marks-major-inner="false"'
            ' chart:tick-marks-major-outer="false" chart:reverse-direction="false"',
            _SMALL_TEXT,
        )
        el = f'<chart:axis chart:dimension="{dim}" chart:name="primary-{dim}" chart:style-name="{a_style}">'
        t = ax.find(f"{_C}title")
        if t is not None and _text(t.find(f"{_C}tx")):
            at_style = styles.add("", _AXIS_TITLE)
            el += f'<chart:title chart:style-name="{at_style}"><text:p>{escape(_text(t.find(f"{_C}tx")))}</text:p></chart:title>'
        if dim == "x" and categories:
            el += f"<chart:categories{attr('table:cell-range-address', categories)}/>"
        if ax.find(f"{_C}majorGridlines") is not None:
            el += f'<chart:grid chart:style-name="{styles.add("", _LIGHT_LINE)}" chart:class="major"/>'
        axes += el + "</chart:axis>"
    wall = styles.add("", _NO_BOX)
    body += (
        f'<chart:plot-area chart:style-name="{plot_style}" chart:data-source-has-labels="none">{axes}{series}'
        f'<chart:wall chart:style-name="{wall}"/></chart:plot-area>'
    )
    return _document(styles, body, placed, main), ranges


def _document(styles: _Styles, body: str, placed: Placed, cls: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0"'
        ' xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"'
        ' xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"'
        ' xmlns:chart="urn:oasis:names:tc:opendocument:xmlns:chart:1.0"'
        ' xmlns:loext="urn:org:documentfoundation:names:experimental:office:xmlns:loext:1.0"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink" office:version="1.3">'
        f"<office:automatic-styles>{''.join(styles.xml)}{_AREA_STYLE}</office:automatic-styles>"
        f'<office:body><office:chart><chart:chart svg:width="{placed.width:.4f}in" svg:height="{placed.height:.4f}in"'
        f' chart:class="{cls}" chart:style-name="area">{body}</chart:chart></office:chart></office:body>'
        "</office:document-content>"
    )
