"""The exit codes of the contract, and nothing else: the command line needs them on every run
(`pullgate --version` included), before any stage is imported."""

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_UNVERIFIED = 3
EXIT_SIGINT = 130
"""Interrupted (Ctrl-C): 128 + SIGINT, as a shell reports it."""
EXIT_SIGTERM = 143
"""Terminated (how CI cancels a job): 128 + SIGTERM."""
