"""The 計算 buttons: the Excel add-in and its launcher, the LibreOffice extension, its macro and bridge.

Every button goes through :mod:`workbook.buttons.common` (calculate → message → log).
"""
