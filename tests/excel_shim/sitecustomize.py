"""Test shim: make ``xw.Book.caller()`` return the Excel double in a fresh process.

Put this folder on PYTHONPATH with ``KPI_EXCEL_DOUBLE`` naming a JSON spec
(``path``, ``values``, ``out``, ``report``, optional ``calculation``).  Nothing is
imported until the process itself imports xlwings, so the process imports exactly
what it would under Excel; at exit the double's workbook is saved to ``out`` and a
report (alerts, protection, whether pandas was loaded) is written to ``report``.
"""

from __future__ import annotations

import atexit
import importlib.abc
import importlib.machinery
import json
import os
import sys

SPEC = os.environ.get("KPI_EXCEL_DOUBLE")


class _Patch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Wraps xlwings' own loader and patches ``Book.caller`` right after xlwings loads."""

    def find_spec(self, name, path=None, target=None):
        if name != "xlwings":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        module.Book.caller = classmethod(_caller)
        sys.meta_path.remove(self)


_BOOK = []


def _caller(cls):
    """What ``Book.caller()`` does over COM: find the book named by --wb= of the calling Excel."""
    args = dict(a[2:].split("=", 1) for a in sys.argv if a.startswith("--") and "=" in a)
    if args.get("from_xl") != "1":
        raise RuntimeError("Book.caller() must not be called directly")
    from excel_double import Book

    with open(SPEC, encoding="utf-8") as fh:
        spec = json.load(fh)
    book = Book(spec["path"], spec["values"])
    if args["wb"].lower() != book.name.lower():
        raise RuntimeError(f"no open workbook named {args['wb']!r}")
    if spec.get("calculation"):
        book.app._calculation = spec["calculation"]
    _BOOK.append((book, spec))
    return book


def _report():
    if not _BOOK:
        return
    from excel_double import protection_state

    book, spec = _BOOK[0]
    book.save(spec["out"])
    report = {
        "alerts": [a for a, _ in book.app.alerts],
        "titles": [t for _, t in book.app.alerts],
        "pandas": sys.modules.get("pandas") is not None,
        "calculation": book.app.calculation,
        "calculations": book.app.calculations,
        "protection": {ws.title: protection_state(ws) for ws in book.wb.worksheets},
        "argv": sys.argv,
    }
    with open(spec["report"], "w", encoding="utf-8") as fh:
        json.dump(report, fh, ensure_ascii=False)
    book.close()


if SPEC:
    sys.meta_path.insert(0, _Patch())
    atexit.register(_report)
