"""`python -m gate` runs the pullgate command line."""

from gate.cli import main

if __name__ == "__main__":
    main()
