"""What Docker and compose would run, read from `Dockerfile` and `compose.yaml`.

Docker cannot run on our machines, so `tests/test_deployment.py` plays the runtime: it reads
the image's environment, working directory, files, entrypoint and health check from the
Dockerfile's final stage, and each service's command, environment and dependencies from
compose.yaml (interpolated as compose does), and turns them into local command lines. Only
what a container would have differently is translated: the image's directories become a
scratch directory whose files are links to the ones the Dockerfile copies, the image's
virtualenv is this one (with this tree's package first on the path, as the image installs
it), and a service's host name is the address of the local PostgreSQL.
"""

import json
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
# What the python base image sets that the Dockerfile relies on.
BASE_IMAGE_ENV = {"LANG": "C.UTF-8", "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"}


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> str:
        found = self.all(keyword)
        assert found, f"no {keyword} in the stage {self.name}"
        return found[-1]


def dockerfile_stages(text: str) -> list[Stage]:
    """The stages and their instructions, continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    logical, pending = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            words = args.split()
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        else:
            stages[-1].instructions.append(Instruction(keyword, args))
    return stages


def exec_form(args: str) -> list[str]:
    """A JSON-array instruction's argument list (an exec-form CMD, ENTRYPOINT or check)."""
    parsed = json.loads(args)
    assert isinstance(parsed, list) and all(isinstance(a, str) for a in parsed), args
    return parsed


def healthcheck_command(stage: Stage) -> list[str]:
    command = stage.last("HEALTHCHECK").partition("CMD ")[2]
    return exec_form(command)


_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def image_env(stage: Stage) -> dict[str, str]:
    """ENV as Docker builds it up: each value may use the variables set before it."""
    env = dict(BASE_IMAGE_ENV)
    for args in stage.all("ENV"):
        for pair in shlex.split(args):
            key, _, value = pair.partition("=")
            env[key] = _VARIABLE.sub(lambda m: env.get(m.group(1) or m.group(2), ""), value)
    return env


_INTERPOLATION = re.compile(r"\$(?:(\$)|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$`, everywhere."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        escaped, name, operator, operand, bare = match.groups()
        if escaped:
            return "$"
        name = name or bare
        found = variables.get(name)
        empty = not found if operator and operator.startswith(":") else found is None
        if operator and operator.endswith("?") and empty:
            raise AssertionError(f"compose would refuse: {name}: {operand}")
        if operator and operator.endswith("-") and empty:
            return operand
        return found or ""

    return _INTERPOLATION.sub(one, value)


def read_env_file(path: Path) -> dict[str, str]:
    """`KEY=value` lines as compose reads an env_file; comments and blank lines skipped."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def compose_services(variables: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = interpolate(
        yaml.safe_load(COMPOSE.read_text()), variables
    )["services"]
    return services


def depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    """Each dependency and its condition (a plain list means `service_started`)."""
    found = service.get("depends_on", {})
    if isinstance(found, list):
        return dict.fromkeys(found, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in found.items()}


def start_order(services: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The order compose starts them in (ties by name, as a reader would take them)."""
    sorter = TopologicalSorter({name: depends_on(s) for name, s in services.items()})
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


class Image:
    """The final stage of the Dockerfile laid out under `root`, as a container sees it."""

    def __init__(self, root: Path) -> None:
        self.stage = dockerfile_stages(DOCKERFILE.read_text())[-1]
        self.root = root
        self.workdir = self.stage.last("WORKDIR")
        self.prefixes: dict[str, Path] = {}
        workdir = "/"
        for instruction in self.stage.instructions:
            if instruction.keyword == "WORKDIR":
                workdir = instruction.args
                self.prefixes[workdir] = self._inside(workdir)
                self._inside(workdir).mkdir(parents=True, exist_ok=True)
            elif instruction.keyword == "COPY":
                self._copy(shlex.split(instruction.args), workdir)

    def _inside(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def _copy(self, words: list[str], workdir: str) -> None:
        flags = [w for w in words if w.startswith("--")]
        source, target = [w for w in words if not w.startswith("--")]
        if any(flag.startswith("--from=") for flag in flags):
            # The build stage's virtualenv: this one, with this tree's package first.
            assert source == target == "/opt/venv", words
            self.prefixes[target] = Path(sys.prefix)
            return
        destination = target if target.startswith("/") else f"{workdir}/{target}"
        local = self._inside(destination)
        if target.endswith("/"):
            local = local / Path(source).name
        local.parent.mkdir(parents=True, exist_ok=True)
        local.symlink_to(ROOT / source)

    def local(self, text: str) -> str:
        """A command word or value with the image's paths made local."""
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            pattern = rf"(?<![\w/]){re.escape(prefix)}(?=/|:|$)"
            text = re.sub(pattern, str(self.prefixes[prefix]).replace("\\", "\\\\"), text)
        return text

    def command(self, service: Mapping[str, Any]) -> list[str]:
        entrypoint = exec_form(self.stage.last("ENTRYPOINT"))
        command = service.get("command") or exec_form(self.stage.last("CMD"))
        return [self.local(word) for word in [*entrypoint, *command]]

    def env(self, service: Mapping[str, Any], env_files: Path) -> dict[str, str]:
        """The image's ENV, then the env_file, then `environment`: compose's precedence."""
        env = image_env(self.stage)
        files = service.get("env_file", [])
        for name in [files] if isinstance(files, str) else files:
            env.update(read_env_file(env_files / name))
        env.update({k: str(v) for k, v in service.get("environment", {}).items()})
        env = {key: self.local(value) for key, value in env.items()}
        env["PYTHONPATH"] = str(ROOT)  # the image installs this package into its virtualenv
        return env
