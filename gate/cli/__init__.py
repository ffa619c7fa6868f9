"""Command line: the `pullgate` command group, one module per command, wiring only.

Nothing here decides anything about images or secrets: `app` holds the group and the error
boundary, `options` and `settings` turn flags, environment and config into the stages' options,
and `check`, `pin`, `explain` and `init` each connect one command to the stage that does the work.
"""

from gate.cli import check, explain, init, pin
from gate.cli.app import main

main.add_command(check.check)
main.add_command(pin.pin)
main.add_command(explain.explain)
main.add_command(init.init)

__all__ = ["main"]
