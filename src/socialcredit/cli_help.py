"""How the command line's help reads: commands grouped by area, and each value named the way a user reads it.

Typer shows every value by its Python type (``<str>``, ``<path>``) and every flag as ``<bool>``. Here a flag shows
no value at all, and a value shows its metavar: the one given where the option is declared (``DATE``, ``FILE``,
``N``, ``TEXT``, …) or, by default, the option's own name in capitals (``--source SOURCE``). Top-level commands are
listed panel by panel in the order of :data:`PANELS`, the main job first.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table
from rich.text import Text
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from socialcredit.clock import day_option, resolve_today, today_option
from socialcredit.languages import ASKED, lang_option, language_option

__all__ = [
    "ADMINISTRATION",
    "ASKED",
    "DECISIONS",
    "DUE_PROCESS",
    "EXIT_CODES",
    "MAIN_JOB",
    "PANELS",
    "RECORDS",
    "REGIONS",
    "SCORING",
    "SERVICE",
    "DbOpt",
    "ErrorsLangOpt",
    "HelpGroup",
    "JsonOpt",
    "LangOpt",
    "OutputConsole",
    "TodayOpt",
    "compacted",
    "day_option",
    "lang_option",
    "language_option",
    "readable_metavars",
    "today_option",
]

MAIN_JOB = "The main job"
RECORDS = "Records"
SCORING = "Scoring"
DECISIONS = "Decisions"
DUE_PROCESS = "Due process"
REGIONS = "Regions"
SERVICE = "Service"
ADMINISTRATION = "Administration"
PANELS = (MAIN_JOB, RECORDS, SCORING, DECISIONS, DUE_PROCESS, REGIONS, SERVICE, ADMINISTRATION)

# The epilog of `socialcredit --help`; README.md ("Exit codes") says the same. One line per code: the help prints the
# epilog's lines as they are, and wraps the long ones.
EXIT_CODES = "\n".join(
    (
        "Exit codes:",
        "0  done. A refused decision, an empty list and a look-up that finds no one are answers, not failures.",
        "1  the command ran and reports a failure: rows rejected (ingest, load), errors in a policy (policy lint), "
        "an audit log that is not intact (audit verify), a scoring state that differs (state check), matches ranked "
        "without the registry (matchmaking matches), a catalog the published policies refuse (catalog check, catalog "
        "publish).",
        "2  the command was refused or could not run: a usage error (an unknown command or option, a bad value, a "
        "group without its command: it prints its help), invalid input (e.g. a policy that does not load), something "
        "not found, a step the registry's state refuses, a store that cannot be opened, a file that cannot be read or "
        "written, a bundle refused, a service that cannot start.",
        "3  internal error: a bug; the details are written to a file the message names.",
        "130  interrupted (Ctrl-C).",
        'A report goes to stdout (as JSON with --json). A failure is told on stderr, in the last line: "error: ..." '
        '(a usage error: "Error: ..." after the usage; 3: "internal error: ..."), never with a stack trace.',
    )
)

DbOpt = Annotated[Path, typer.Option("--db", help="The store file.", envvar="SOCIALCREDIT_DB", metavar="FILE")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


LangOpt = Annotated[
    str, typer.Option("--lang", help="Language of texts: en or zh.", metavar="LANG", callback=lang_option)
]
# ``--lang`` of a command whose only texts in a language are its errors (a list's refusal of a status it does not know)
ErrorsLangOpt = Annotated[
    str, typer.Option("--lang", help="Language of its errors: en or zh.", metavar="LANG", callback=lang_option)
]
TodayOpt = Annotated[str | None, typer.Option("--today", help="The registry's date (YYYY-MM-DD).", metavar="DATE")]


def compacted(value: str | None) -> str | None:
    """A subject's identifier as typed, compacted as the API and a subjects file do (spaces, a lower-case x, full-width
    digits, a line break pasted along): the subject as registered. The callback of every argument that names one."""
    from socialcredit.identifiers import compact_subject_id

    return None if value is None else compact_subject_id(value)


class _NamedArgument(TyperArgument):
    """An argument shown by its name alone: its meaning is in its name and help, not in a type like ``<str>``."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None


def readable_metavars(command: TyperCommand | TyperGroup) -> None:
    """Name the value of every parameter of ``command`` and of its sub-commands, its help option included.

    A flag gets an empty metavar (Typer then shows no type); an option or an argument without a metavar of its own
    gets its name in capitals, and an argument shows no type. Metavars set where a parameter is declared are kept.
    """
    params = list(command.params)
    help_option = command.get_help_option(typer.Context(command))
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if isinstance(param, TyperArgument):
            param.__class__ = _NamedArgument
        if param.metavar is not None:
            continue
        if isinstance(param, TyperOption):
            long = next((o for o in param.opts if o.startswith("--")), param.opts[0])
            param.metavar = "" if param.is_flag else long.lstrip("-").upper()
        elif isinstance(param, TyperArgument):
            param.metavar = (param.name or "value").upper()
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _one_line_summary(sub)
            if isinstance(sub, TyperCommand | TyperGroup):
                readable_metavars(sub)


def _one_line_summary(command: Any) -> None:
    """A group lists each command by the first paragraph of its help, and Typer keeps that paragraph's line breaks
    there (``policy --help`` broke "every problem names / file, line and rule." over two rows): the paragraph is
    given as the command's short help on one line, to be wrapped to the terminal's width like the rest."""
    if getattr(command, "short_help", None) is not None:
        return
    first = inspect.cleandoc(getattr(command, "help", None) or "").partition("\f")[0].split("\n\n")[0]
    if "\n" in first and not first.startswith("\b"):
        command.short_help = " ".join(line.strip() for line in first.splitlines())


# In a narrow terminal (60 columns) the options' table cut every word longer than its column with an ellipsis: an
# environment variable (a name cut to "…MATCHMAKI…"), a default ("socialcredit-demo…"), an option's name
# ("--increment…"). Its cells fold instead, and the option's own name is kept whole; the help, its environment variable
# and its default are one text, wrapped at spaces (Typer laid them out as columns, each cut to its width).
_OPTION_COLUMNS = 6  # an option's row: long names, short names, negative long and short names, value, help


def _help_cell(**kwargs: Any) -> Any:
    cell = _TYPER_PARAMETER_HELP[0](**kwargs)
    parts = list(getattr(cell, "renderables", []))
    if not parts or not all(isinstance(part, Text) for part in parts):
        return cell  # Markdown (not this command line's markup mode): as Typer lays it out
    text = Text(" ").join(parts)
    text.overflow = "fold"
    return text


class _HelpTable(Table):
    """The table of a help panel: a word wider than its column is folded onto the next row, never cut; the column of
    an option's long name is as wide as the longest name."""

    def add_row(self, *renderables: Any, **kwargs: Any) -> None:
        super().add_row(*renderables, **kwargs)
        for column in self.columns:
            column.overflow = "fold"
        if len(self.columns) >= _OPTION_COLUMNS:
            self.columns[len(self.columns) - _OPTION_COLUMNS].no_wrap = True

    def _calculate_column_widths(self, console: Any, options: Any) -> list[int]:
        """Below some 60 columns the option's help got what its names and value left, a few characters, and every
        word was cut across rows ("publ", "ishe", "d"). The help's column is given the width of its longest word (at
        most a third of the table), taken from the columns of the negative names and the value and those no row uses
        (the long names' column keeps its width): a word is folded only where its column cannot fit it."""
        widths: list[int] = super()._calculate_column_widths(console, options)
        if len(self.columns) < _OPTION_COLUMNS or sum(widths) > options.max_width:
            return widths
        last = len(widths) - 1
        pad = self._get_padding_width
        fits: list[int] = [self._longest_word(i) + int(pad(i)) for i in range(len(widths))]
        want: int = min(fits[last], options.max_width // 3 + 2)
        if widths[last] >= want:
            return widths  # wide enough: as Rich lays it out
        givers = range(len(widths) - _OPTION_COLUMNS + 1, last)  # after the long names' column, which is not wrapped
        for i in givers:  # a column no row has anything in (short names, mostly) takes no room at all
            if fits[i] == pad(i):
                widths[last] += widths[i]
                widths[i] = 0

        # What a column has beyond its own longest word, then beyond six characters (a value's name such as POLICY
        # stays whole), and in a terminal so narrow that the help has fewer than ten, beyond three.
        def floor(i: int, most: int | None) -> int:
            return fits[i] if most is None else min(fits[i], int(pad(i)) + most)

        for goal, most in ((want, None), (want, 6), (min(want, int(pad(last)) + 10), 3)):
            while widths[last] < goal:
                giver = max(givers, key=lambda i: widths[i] - floor(i, most))
                if widths[giver] <= floor(giver, most):
                    break  # nothing left to give
                widths[giver] -= 1
                widths[last] += 1
        return widths

    def _longest_word(self, index: int) -> int:
        return max((len(w) for cell in self.columns[index].cells for w in str(cell).split()), default=0)


# Typer's own help function, replaced by _help_cell (which calls it) once Typer's help is first printed
_TYPER_PARAMETER_HELP: list[Any] = []


@functools.cache
def _fold_typer_help() -> None:
    """Replace Typer's functions for its help (the cells and tables above). Done as a help is first printed, not at
    import: Typer's help module imports Rich's Markdown and more (about a tenth of a second of every start of the
    console script), and a command that prints no help never needs it."""
    from typer import rich_utils

    _TYPER_PARAMETER_HELP.append(rich_utils._get_parameter_help)
    setattr(rich_utils, "_get_parameter_help", _help_cell)  # noqa: B010 - Typer's own functions, replaced for its help
    setattr(rich_utils, "Table", _HelpTable)  # noqa: B010


def _folding(format_help: Any) -> Any:
    """A command's (or group's) ``format_help``, which prints every help Typer prints, with _fold_typer_help first."""

    @functools.wraps(format_help)
    def folded(self: Any, ctx: Any, formatter: Any) -> Any:
        _fold_typer_help()
        return format_help(self, ctx, formatter)

    return folded


TyperCommand.format_help = _folding(TyperCommand.format_help)  # type: ignore[method-assign]
TyperGroup.format_help = _folding(TyperGroup.format_help)  # type: ignore[method-assign]


def _panel_rank(command: object) -> int:
    panel = getattr(command, "rich_help_panel", None)
    return PANELS.index(panel) if panel in PANELS else len(PANELS)


class HelpGroup(TyperGroup):
    """The root command: lists its commands panel by panel (:data:`PANELS`) and names every value readably."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # Typer builds the whole tree before its root, so every command is here. Help prints the panels in the
        # order their first command comes: sorting the commands (stably) by panel orders the panels.
        self.commands = dict(sorted(self.commands.items(), key=lambda item: _panel_rank(item[1])))
        readable_metavars(self)


def as_of_date(value: str | None) -> dt.date:
    """An ``--as-of`` option's date (the registry's today when not given: ``clock.resolve_today``, which
    honours $SOCIALCREDIT_TODAY); a text not of the form YYYY-MM-DD is refused."""
    return day_option(value, "--as-of") or resolve_today()


class OutputConsole(Console):
    """The console of a command's output. Written to a file or a pipe (not a terminal) and with no COLUMNS set, it
    has no width to fit: a table keeps every identity number, date and record id whole (at the 80 or terminal
    columns a console falls back to, ``socialcredit list blacklist > black.txt`` cut them to '110107198009215…').
    COLUMNS, when set, still decides."""

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self.is_terminal or "COLUMNS" in os.environ:
            return dims
        return ConsoleDimensions(10_000, dims.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size
