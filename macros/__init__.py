"""The shim the Excel add-in's VBA imports: ``import macros; macros.main()``.

The add-in's VBA is xlwings' own (``RunPython``), and ``RunMain`` imports the module named
after the add-in file (``macros.xlam``), so this name stays; the button itself lives in
:mod:`workbook.buttons.excel`.
"""

from workbook.buttons.common import TITLE, log_path
from workbook.buttons.excel import calculate, main

__all__ = ["TITLE", "calculate", "log_path", "main"]
