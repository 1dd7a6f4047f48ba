"""``kpi-excel-python``: the interpreter the add-in's configuration names.

xlwings' ``RunPython`` (VBA, not ours to change: the add-in's VBA is xlwings' own, byte
for byte) runs, on Windows::

    "<Interpreter_Win>" -B -c "import xlwings.utils;xlwings.utils.prepare_sys_path(\\"…\\"); import macros;macros.main()" --wb="Book.xlsx" --from_xl=1 --app="…" --hwnd="…"

and on macOS ``<Interpreter_Mac> -B -u -W ignore -c "…" "--wb=…" …``.  Its first
statement imports xlwings, and xlwings imports pandas whenever it is installed, so
``macros.main()`` comes too late to keep pandas out.  This launcher takes the very
same arguments, marks pandas absent, and then runs the command exactly as
``python -B -c`` would (``sys.argv`` ``['-c', '--wb=…', …]``, ``sys.path[0]`` the
working directory, ``__main__`` globals).
"""

from __future__ import annotations

import sys
import warnings


def parse(argv: list[str]) -> tuple[str, list[str]]:
    """The ``-c`` command and the arguments after it, from ``python``-style options."""
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "-c":
            if not args:
                break
            return args[0], args[1:]
        if arg == "-B":
            sys.dont_write_bytecode = True
        elif arg == "-u":
            pass  # unbuffered output: the button writes nothing to stdout
        elif arg == "-W" and args:
            warnings.simplefilter(args.pop(0).split(":")[0])  # type: ignore[arg-type]
        elif arg.startswith("-W"):
            warnings.simplefilter(arg[2:].split(":")[0])  # type: ignore[arg-type]
        else:
            raise SystemExit(f"kpi-excel-python: unsupported option {arg!r} (expects python's -c form)")
    raise SystemExit("kpi-excel-python: missing -c COMMAND")


def main(argv: list[str] | None = None) -> None:
    """Run ``-c COMMAND ARGS…`` like ``python`` does, with pandas kept out of the process."""
    from workbook.buttons.common import keep_pandas_out

    command, rest = parse(sys.argv[1:] if argv is None else argv)
    keep_pandas_out()
    sys.argv = ["-c", *rest]
    sys.path[0:1] = [""]  # python -c puts the working directory first, not this script's folder
    globals_ = {"__name__": "__main__", "__builtins__": __builtins__}
    exec(compile(command, "<string>", "exec"), globals_)


if __name__ == "__main__":
    main()
