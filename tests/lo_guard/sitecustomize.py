"""Put on PYTHONPATH of a test soffice: its Python then sees nothing of site-packages, dist-packages
or this checkout but LibreOffice's own UNO modules (as on Windows, where LibreOffice ships its own
Python).  Each top-level package the click loads, and each one hidden, is written to KPI_GUARD_LOG.
"""

import importlib.abc
import importlib.machinery
import os
import sys

LOG = os.environ.get("KPI_GUARD_LOG")
ALLOWED = {"uno", "unohelper", "pyuno", "pythonloader", "pythonscript", "officehelper", "msgbox", "mailmerge"}
WATCH = ("kpi_engine", "workbook", "yaml", "jsonschema", "rpds", "referencing", "attr")


def _outside(path):
    return (
        "site-packages" in path
        or "dist-packages" in path
        or path.startswith(os.environ.get("KPI_GUARD_REPO", "\0"))
    )


class Guard(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in ALLOWED:
            return None
        entries = list(path) if path is not None else list(sys.path)
        spec = importlib.machinery.PathFinder.find_spec(name, [p for p in entries if not _outside(p)])
        if spec is None:
            hidden = importlib.machinery.PathFinder.find_spec(name, [p for p in entries if _outside(p)])
            if hidden is None:
                return None  # builtin or frozen, or missing everywhere: the other finders answer
            _log(f"hidden {name} {hidden.origin}")
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test guard)", name=name)
        if name == top and top in WATCH:
            _log(f"loaded {name} {spec.origin}")
        return spec


def _log(line):
    if LOG:
        with open(LOG, "a") as f:
            f.write(line + "\n")


sys.meta_path.insert(0, Guard())
