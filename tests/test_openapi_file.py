"""The committed `openapi.json` is the API's contract as the code states it: a change of a route
or a schema without regenerating it fails here (and in CI's console step)."""

import json
from pathlib import Path

from api.openapi import OPENAPI_FILE, main, rendered


def test_the_committed_openapi_is_current() -> None:
    assert OPENAPI_FILE.read_text(encoding="utf-8") == rendered(), (
        "openapi.json is stale: run `python -m api.openapi` and commit it"
    )


def test_the_check_fails_on_a_stale_file_and_writes_nothing(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    document = json.loads(rendered())
    del document["paths"]["/api/v1/me/sessions"]
    stale.write_text(json.dumps(document), encoding="utf-8")
    before = stale.read_text(encoding="utf-8")
    assert main(["--check", "--output", str(stale)]) == 1
    assert stale.read_text(encoding="utf-8") == before
    assert main(["--output", str(stale)]) == 0
    assert main(["--check", "--output", str(stale)]) == 0
