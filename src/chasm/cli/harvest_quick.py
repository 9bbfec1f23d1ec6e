"""`chasm harvest` answered before the command line is loaded, when nothing changed.

Loading Typer and every sub-command (and Typer's pydantic-built option parsing) costs more than
an unchanged harvest's whole work. `main` hands the arguments of `chasm harvest` here first; when
they are only the plain local options (`OPTIONS`, a subset of `cli.harvest.harvest`'s, held to
them by a test) and `harvest.quick` finds nothing to store, the report is printed here and the
call ends. Anything else (another option, --help, a value this cannot read, work to do) leaves
it to the full command, which parses the arguments again and reports any error itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Option names -> attribute; the valued ones take the next argument or `=VALUE`.
VALUED = {"--provider": "provider", "-p": "provider", "--root": "root", "--account": "account"}
FLAGS = {"--all": "include_disabled", "--json": "as_json"}
OPTIONS = (*VALUED, *FLAGS)


@dataclass
class QuickArgs:
    provider: list[str] = field(default_factory=list)
    root: list[str] = field(default_factory=list)
    account: str | None = None
    include_disabled: bool = False
    as_json: bool = False


def parse(args: list[str]) -> QuickArgs | None:
    """The plain local options of `chasm harvest`; None for anything else."""
    parsed = QuickArgs()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in FLAGS:
            setattr(parsed, FLAGS[arg], True)
            continue
        name, sep, value = arg.partition("=") if arg.startswith("--") else (arg[:2], "", arg[2:])
        if name not in VALUED:
            return None
        if not sep and not value:
            if i >= len(args):
                return None
            value = args[i]
            i += 1
        if not value or value.startswith("-"):
            return None
        attr = VALUED[name]
        if attr == "account":
            parsed.account = value
        else:
            getattr(parsed, attr).append(value)
    return parsed


def run(args: list[str]) -> bool:
    """Whether the harvest was answered here (nothing to store); False: run the full command."""
    parsed = parse(args)
    if parsed is None:
        return False
    from chasm.harvest import quick
    from chasm.harvest.report import parse_root_options
    from chasm.kit.errors import ChasmError

    try:
        extra = parse_root_options(parsed.root)
    except ChasmError:
        return False
    try:
        report = quick.unchanged_report(
            parsed.provider or None, extra, parsed.include_disabled, parsed.account
        )
    except Exception:  # noqa: BLE001 - an unreadable folder, say: the full command reports it
        return False
    if report is None:
        return False
    from chasm.cli.harvest_report import print_library_location, show_report

    show_report(report.as_dict(), parsed.as_json)
    if not parsed.as_json:
        print_library_location()
    return True
