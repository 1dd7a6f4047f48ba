"""One adapter per medium that holds a workbook: openpyxl files, python-calamine, .ods (read and
patch), live Excel (xlwings), LibreOffice (UNO); :mod:`workbook.books.open` picks the one a file
needs and is the one pipeline that checks or calculates a file."""
