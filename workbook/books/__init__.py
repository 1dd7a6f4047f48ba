"""One adapter per medium that holds a workbook: openpyxl files, python-calamine, .ods (read and
patch), live Excel (xlwings), LibreOffice (UNO)."""
