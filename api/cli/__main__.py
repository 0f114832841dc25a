"""`python -m api.cli …` is `pioneer …` (the Makefile runs `python -m api.cli seed-demo`)."""

import sys

from api.cli import main

if __name__ == "__main__":
    sys.exit(main())
