"""Live spreadsheet clients other than Excel: LibreOffice over UNO, and its button."""
