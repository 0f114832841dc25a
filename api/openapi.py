"""The API's contract as a file: `python -m api.openapi` writes `openapi.json` at the top of the
repository, from which the console's types (and the mini-program's) are generated.

The document is built from the route table alone, whatever the environment says (settings turn
routes on and off at run time, never their shape). `--check` exits 1, writing nothing, when the
committed file differs: CI runs it, and `tests/test_openapi_file.py` does too.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from api.config import Settings
from api.main import create_app

OPENAPI_FILE: Final = Path(__file__).resolve().parent.parent / "openapi.json"


def document() -> dict[str, Any]:
    settings = Settings.model_validate({"env": "dev", "database_url": "sqlite+aiosqlite://"})
    return create_app(settings).openapi()


def rendered() -> str:
    return json.dumps(document(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="只检查 openapi.json 是否为最新")
    parser.add_argument("--output", type=Path, default=OPENAPI_FILE)
    args = parser.parse_args(argv)
    text = rendered()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} is stale: run `python -m api.openapi` and commit it",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
