"""argparse in zh-TW first, then English: usage, help headings and error messages.

argparse's own messages are English (gettext without a zh-TW catalogue); staff read
zh-TW.  :class:`KpiArgumentParser` prints every heading bilingually and turns each
argparse error into a zh-TW sentence followed by argparse's English one.  Errors are
raised as :class:`ArgumentUsageError` (not printed and exited inside argparse) so
the command can answer in JSON when ``--json`` was given.
"""

from __future__ import annotations

import argparse
import functools
import re
from collections.abc import Callable, Sequence
from typing import NoReturn

from kpi_engine.errors import KpiError

HELP_TEXT = "顯示說明後結束 / show this help message and exit"

#: argparse's English error messages → zh-TW, by pattern (Python 3.10–3.13 wording); compiled
#: on the first error only (a command that parses cleanly never needs them).
_TRANSLATIONS: tuple[tuple[str, str], ...] = (
    (r"^the following arguments are required: (?P<a>.*)$", "缺少必要的參數：{a}"),
    (r"^unrecognized arguments: (?P<a>.*)$", "無法辨識的參數：{a}"),
    (
        r"^argument (?P<arg>[^:]+): invalid choice: (?P<v>.*?) \(choose from (?P<c>.*)\)$",
        "參數 {arg} 的值 {v} 無效，可選：{c}",
    ),
    (r"^argument (?P<arg>[^:]+): invalid int value: (?P<v>.*)$", "參數 {arg} 須為整數，收到 {v}"),
    (r"^argument (?P<arg>[^:]+): invalid float value: (?P<v>.*)$", "參數 {arg} 須為數字，收到 {v}"),
    (r"^argument (?P<arg>[^:]+): expected one argument$", "參數 {arg} 後面須接一個值"),
    (r"^argument (?P<arg>[^:]+): expected at least one argument$", "參數 {arg} 後面至少須接一個值"),
    (r"^argument (?P<arg>[^:]+): ignored explicit argument (?P<v>.*)$", "參數 {arg} 不接受值 {v}"),
    (r"^argument (?P<arg>[^:]+): not allowed with argument (?P<o>.*)$", "參數 {arg} 不可與 {o} 同時使用"),
    (r"^ambiguous option: (?P<o>\S+) could match (?P<c>.*)$", "選項 {o} 不明確，可能是：{c}"),
)


def zh_message(message: str) -> str:
    """The zh-TW form of an argparse error message (a generic one when unknown)."""
    for pattern, zh in _TRANSLATIONS:
        m = re.match(pattern, message)
        if m:
            return zh.format(**m.groupdict())
    return "命令列參數有誤"


class ArgumentUsageError(KpiError):
    """A command line argparse could not accept; carries the usage line of the (sub)command."""

    code = "usage"

    def __init__(self, message_en: str, usage: str, prog: str):
        super().__init__(zh_message(message_en), message_en)
        self.usage, self.prog = usage, prog


class ZhHelpFormatter(argparse.HelpFormatter):
    """Help with a bilingual usage prefix."""

    def add_usage(self, usage, actions, groups, prefix=None):  # type: ignore[override]
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "用法 / usage: ")


class KpiArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors are zh-TW first, then English.

    ``fill``: a function adding this parser's arguments, run when they are first needed
    (:meth:`filled`): a subcommand's arguments are added only when that subcommand is
    used, so ``kpi calculate`` does not build the other sixteen parsers (issue 24).
    """

    def __init__(self, *args, fill: Callable[[KpiArgumentParser], None] | None = None, **kwargs):
        kwargs.setdefault("formatter_class", ZhHelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _SubCommands)
        self._fill = fill
        self._positionals.title = "位置參數 / positional arguments"
        self._optionals.title = "選項 / options"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = HELP_TEXT

    def filled(self) -> KpiArgumentParser:
        """This parser with every argument added (its ``fill`` run once)."""
        fill, self._fill = self._fill, None
        if fill is not None:
            fill(self)
        return self

    def add_subparsers(self, **kwargs):  # type: ignore[override]
        kwargs.setdefault("title", "指令 / commands")
        kwargs.setdefault("metavar", "COMMAND")
        return super().add_subparsers(**kwargs)

    def error(self, message: str) -> NoReturn:
        raise ArgumentUsageError(message, self.format_usage(), self.prog)


class _SubCommands(argparse._SubParsersAction):
    """Subcommands made when chosen: ``add_parser(name, help=…, fill=…)`` records the name and
    its help line at once (all the top-level help and an invalid choice need) and builds the
    parser, then its arguments, the first time it is looked up (see :class:`KpiArgumentParser`).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._name_parser_map = self.choices = _Parsers()

    def add_parser(self, name, **kwargs):  # type: ignore[override]
        if kwargs.get("fill") is None:
            return super().add_parser(name, **kwargs)
        # argparse records the name, prog and help line as always; the parser class is only
        # asked for a promise of the parser.
        real, self._parser_class = self._parser_class, functools.partial(_Pending, self._parser_class)
        try:
            return super().add_parser(name, **kwargs)
        finally:
            self._parser_class = real


class _Pending:
    """A subcommand's parser not built yet: the class and the arguments to build it with."""

    def __init__(self, parser_class: Callable[..., argparse.ArgumentParser], **kwargs):
        self.parser_class, self.kwargs = parser_class, kwargs


class _Parsers(dict):
    """Subcommand name → parser, each built (and filled) when first looked up."""

    def __getitem__(self, name: str) -> argparse.ArgumentParser:
        parser = super().__getitem__(name)
        if isinstance(parser, _Pending):
            parser = parser.parser_class(**parser.kwargs)
            self[name] = parser
        return parser.filled() if isinstance(parser, KpiArgumentParser) else parser

    def get(self, name, default=None):  # type: ignore[override]
        return self[name] if name in self else default  # noqa: SIM401 (self.get is this method)

    def values(self):  # type: ignore[override]
        return [self[name] for name in self]

    def items(self):  # type: ignore[override]
        return [(name, self[name]) for name in self]


def dash_file_hint(argv: Sequence[str], parser: argparse.ArgumentParser) -> str | None:
    """When a token before ``--`` looks like an unknown option, say how to pass a file named so."""
    known = _option_strings(parser)
    tokens = list(argv[: list(argv).index("--")] if "--" in argv else argv)
    odd = [t for t in tokens if t.startswith("-") and t != "-" and t.split("=", 1)[0] not in known]
    if not odd:
        return None
    return (
        f"若「{odd[0]}」是檔名：以「-」開頭的檔名請放在 -- 之後，例如 kpi calculate -- {odd[0]}"
        f" / if {odd[0]!r} is a file name, put it after --, e.g. kpi calculate -- {odd[0]}"
    )


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    out: set[str] = set()
    for action in parser._actions:
        out.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():  # every subcommand's, built and filled
                out |= _option_strings(sub)
    return out
