"""Write the embedded default plan's shipped copy (``templates/taichung_secretariat_107.copy.json``).

    python tools/plan_copy.py

Run it after editing ``templates/taichung_secretariat_107.yaml``: until then the copy no longer
matches the text's SHA-256 and is ignored (the YAML is read and validated, as before), and
``tests/test_startup.py`` fails, naming this command.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kpi_engine.plan_loader import (
    DEFAULT_PLAN_COPY,
    default_plan_path,
    parse_plan,
    shipped_plan_copy,
)


def main() -> int:
    """Validate the default plan in full and write its copy beside it."""
    path = default_plan_path()
    plan = parse_plan(path.read_text(encoding="utf-8-sig"), source=str(path))
    copy = shipped_plan_copy(plan)
    if copy is None:
        print("the default plan cannot be held as JSON exactly; no copy written", file=sys.stderr)
        return 1
    out = path.parent / DEFAULT_PLAN_COPY  # where the loader looks: beside the plan
    out.write_text(copy, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
