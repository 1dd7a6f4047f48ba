"""Bytes only, nothing about KPIs: cell addresses, safe saves and file state, the package guard,
the .xlsx and .ods patchers and scanners, the one zip rewriter."""
