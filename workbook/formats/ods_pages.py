"""A worksheet's page setup (OOXML) as an ODF page layout and master page (bytes only, no KPI).

Paper, orientation, margins, fit-to-pages or scale, centring, page order and the
header/footer texts (``&P`` page, ``&N`` pages, ``&A`` sheet, ``&D``/``&T`` date and time,
``&F`` file) are carried.  The header/footer heights follow LibreOffice's .xlsx import:
the page margin is the header (footer) distance and the header takes the rest of the
sheet's top (bottom) margin, so the printed body sits where Excel and LibreOffice put it.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from workbook.formats.ods_styles import NS, attr

#: paperSize → (width, height) in inches, portrait.
_PAPER = {
    1: (8.5, 11.0), 3: (11.0, 17.0), 5: (8.5, 14.0), 8: (11.6929, 16.5354), 9: (8.2681, 11.6929),
    11: (5.8268, 8.2681), 12: (9.8425, 13.8976), 13: (7.1654, 10.1181),
}  # fmt: skip
#: The height LibreOffice gives one line of a header or footer in its .xlsx import (inches).
_LINE = 0.1528
_FIELDS = {
    "P": "<text:page-number>1</text:page-number>",
    "N": "<text:page-count>1</text:page-count>",
    "A": "<text:sheet-name>???</text:sheet-name>",
    "F": "<text:title>???</text:title>",
    "Z": "<text:file-name/>",
    "D": "<text:date/>",
    "T": "<text:time/>",
}


def page_style(ws: ET.Element, index: int, sheet: str) -> tuple[str, str]:
    """(page layout ``Mpm<index>``, master page ``PageStyle<index>``) for worksheet ``ws``."""
    setup = ws.find(NS + "pageSetup")
    get = setup.get if setup is not None else (lambda _k, d=None: d)
    pr = ws.find(f"{NS}sheetPr/{NS}pageSetUpPr")
    margins = ws.find(NS + "pageMargins")
    m = {k: float(margins.get(k, d)) if margins is not None else d for k, d in _DEFAULT_MARGINS.items()}
    opts = ws.find(NS + "printOptions")
    hf = ws.find(NS + "headerFooter")
    header = _text(hf, "oddHeader")
    footer = _text(hf, "oddFooter")

    props = ""
    paper = int(get("paperSize") or 0)
    landscape = get("orientation") == "landscape"
    if paper in _PAPER:
        w, h = _PAPER[paper]
        if landscape:
            w, h = h, w
        props += f' fo:page-width="{w:.4f}in" fo:page-height="{h:.4f}in"'
    props += f' style:print-orientation="{"landscape" if landscape else "portrait"}"'
    top = m["header"] if header else m["top"]
    bottom = m["footer"] if footer else m["bottom"]
    props += f' fo:margin-top="{top:.4f}in" fo:margin-bottom="{bottom:.4f}in"'
    props += f' fo:margin-left="{m["left"]:.4f}in" fo:margin-right="{m["right"]:.4f}in"'
    props += f' style:print-page-order="{"ltr" if get("pageOrder") == "overThenDown" else "ttb"}"'
    first = get("firstPageNumber") if get("useFirstPageNumber") in ("1", "true") else None
    props += f' style:first-page-number="{first or "continue"}"'
    if pr is not None and pr.get("fitToPage") in ("1", "true"):
        wide, tall = int(get("fitToWidth") or 1), int(get("fitToHeight") or 1)
        props += f' style:scale-to-X="{wide}"' if wide else ""
        props += f' style:scale-to-Y="{tall}"' if tall else ""
    else:
        props += f' style:scale-to="{int(get("scale") or 100)}%"'
    centre_h = opts is not None and opts.get("horizontalCentered") in ("1", "true")
    centre_v = opts is not None and opts.get("verticalCentered") in ("1", "true")
    centring = {(True, True): "both", (True, False): "horizontal", (False, True): "vertical"}.get(
        (centre_h, centre_v), "none"
    )
    props += f' style:table-centering="{centring}" style:writing-mode="lr-tb"'
    printed = "charts drawings objects zero-values"
    if opts is not None and opts.get("gridLines") in ("1", "true"):
        printed += " grid"
    if opts is not None and opts.get("headings") in ("1", "true"):
        printed += " headers"
    props += f' style:print="{printed}"'
    layout = (
        f'<style:page-layout style:name="Mpm{index}"><style:page-layout-properties{props}/>'
        f"{_hf_style('header', header, m['top'] - m['header'])}"
        f"{_hf_style('footer', footer, m['bottom'] - m['footer'])}</style:page-layout>"
    )
    master = (
        f'<style:master-page style:name="PageStyle{index}"{attr("style:display-name", "PageStyle_" + sheet)}'
        f' style:page-layout-name="Mpm{index}">'
        f"{_hf_content('header', header)}{_hf_content('footer', footer)}</style:master-page>"
    )
    return layout, master


_DEFAULT_MARGINS = {"left": 0.7, "right": 0.7, "top": 0.75, "bottom": 0.75, "header": 0.3, "footer": 0.3}


def _text(hf: ET.Element | None, tag: str) -> str:
    if hf is None:
        return ""
    el = hf.find(NS + tag)
    return (el.text or "") if el is not None else ""


def _hf_style(kind: str, text: str, room: float) -> str:
    side = "margin-bottom" if kind == "header" else "margin-top"
    if not text:
        return f'<style:{kind}-style><style:header-footer-properties fo:min-height="0in" fo:{side}="0in"/></style:{kind}-style>'
    room = max(room, _LINE)
    return (
        f'<style:{kind}-style><style:header-footer-properties fo:min-height="{room:.4f}in"'
        f' fo:margin-left="0in" fo:margin-right="0in" fo:{side}="{room - _LINE:.4f}in"/></style:{kind}-style>'
    )


def _hf_content(kind: str, text: str) -> str:
    if not text:
        return f'<style:{kind} style:display="false"/>'
    sections = {"L": "", "C": "", "R": ""}
    current = "C"
    for part in re.split(r"(&[LCR])", text):
        if part in ("&L", "&C", "&R"):
            current = part[1]
        else:
            sections[current] += part
    if not sections["L"] and not sections["R"]:
        return f"<style:{kind}>{_paragraph(sections['C'])}</style:{kind}>"
    regions = "".join(
        f"<style:region-{where}>{_paragraph(sections[key])}</style:region-{where}>"
        for key, where in (("L", "left"), ("C", "center"), ("R", "right"))
        if sections[key]
    )
    return f"<style:{kind}>{regions}</style:{kind}>"


def _paragraph(text: str) -> str:
    out = ""
    for token in re.split(r'(&&|&"[^"]*"|&\d+|&[A-Za-z])', text):
        if not token:
            continue
        if token == "&&":
            out += "&amp;"
        elif token.startswith("&") and len(token) > 1 and token[1:] in _FIELDS:
            out += _FIELDS[token[1:]]
        elif token.startswith("&"):
            continue  # fonts, sizes, bold/italic toggles, pictures: not carried
        else:
            out += escape(token).replace("  ", " <text:s/>")
    return f"<text:p>{out}</text:p>"
