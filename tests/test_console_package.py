"""The console's packages are pinned and its lock file names no registry, whatever machine
installs them (checked without npm; CI's console step runs `npm run lockcheck` too)."""

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"
EXACT = re.compile(r"^\d+\.\d+\.\d+$")


def test_every_console_dependency_is_pinned_to_one_version() -> None:
    manifest = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    loose = {
        name: version
        for group in ("dependencies", "devDependencies")
        for name, version in manifest.get(group, {}).items()
        if not EXACT.match(version)
    }
    assert not loose, f"pin these exactly: {loose}"


def test_the_lock_file_names_no_registry() -> None:
    text = (WEB / "package-lock.json").read_text(encoding="utf-8")
    assert "registry" not in text.casefold()
    lock = json.loads(text)
    resolved = [path for path, package in lock["packages"].items() if "resolved" in package]
    assert not resolved, f"download addresses recorded for {resolved[:5]}"
    installed = {path.removeprefix("node_modules/") for path in lock["packages"] if path}
    manifest = json.loads((WEB / "package.json").read_text(encoding="utf-8"))
    for group in ("dependencies", "devDependencies"):
        for name, version in manifest[group].items():
            assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
            assert name in installed
