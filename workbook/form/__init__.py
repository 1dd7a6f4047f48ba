"""The KPI form over any :class:`~workbook.form.book.Book`: layout, formulas, styles, the template
builder, calculate and its repairs."""
