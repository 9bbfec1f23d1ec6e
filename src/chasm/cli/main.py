"""The `chasm` entry point. `chasm version` and an unchanged `chasm harvest` are answered before
the command line (Typer, every sub-command's module) is loaded: that load would be most of the
call (`cli.harvest_quick`). `chasm.cli.main.app` is the Typer app, loaded when asked for."""

from __future__ import annotations

import sys
from typing import Any


def main() -> None:
    args = sys.argv[1:]
    if args == ["version"]:
        import chasm

        print(f"chasm {chasm.__version__}")
        return
    if args[:1] == ["harvest"]:
        from chasm.cli import harvest_quick

        if harvest_quick.run(args[1:]):
            return
    from chasm.cli.app import run

    run()


def __getattr__(name: str) -> Any:
    if name == "app":
        from chasm.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
