"""The deployment files: the command the Docker image runs (run here, as the image would), compose.yaml's wiring
and the systemd unit. CI does not build the image (no Docker daemon there): the entry point is tested instead."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import BotEnv, BotProcess
from tests.integration.smtp_server import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _dockerfile() -> tuple[list[str], list[str], dict[str, str]]:
    """ENTRYPOINT, CMD (exec form) and the ENV defaults of the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    entry = json.loads(re.search(r"^ENTRYPOINT (\[.*\])$", text, re.M).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.M).group(1))  # type: ignore[union-attr]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.*)$", text, re.M):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    return entry, cmd, env


def test_image_entry_point_is_the_relance_console_script() -> None:
    """The image's ENTRYPOINT is the `relance` console script of pyproject.toml (bot.cli:main), run as non-root."""
    entry, cmd, _ = _dockerfile()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry == ["relance"] and scripts["relance"] == "bot.cli:main"
    assert cmd == ["run"]
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and re.search(r"^USER relance$", text, re.M)


def test_image_command_runs(tmp_path: Path) -> None:
    """The console script with the image's arguments and ENV (data paths moved to a temp folder; no chat token:
    the terminal demo) starts, shows the demo and exits 0 with stdin closed, as in a container without a TTY."""
    entry, cmd, image_env = _dockerfile()
    script = BIN / entry[0]
    assert script.is_file(), f"{script}: the console script is not installed"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **image_env}
    env.update({"DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'demo.db'}"})
    env.pop("HEALTH_PORT")  # a fixed port could be taken on a shared test machine; /healthz has its own tests
    result = subprocess.run(
        [str(script), *entry[1:], *cmd],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stdout  # the demo's closing lines: how to connect a chat
    assert "Traceback" not in result.stderr
    help_text = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True).stdout
    assert all(name in help_text for name in ("run", "backup", "restore", "verify"))


def _healthcheck() -> list[str]:
    """The HEALTHCHECK's command (exec form)."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return list(json.loads(re.search(r"^HEALTHCHECK .*? CMD (\[.*\])$", text, re.M).group(1)))  # type: ignore[union-attr]


def test_image_healthcheck_and_json_logs_of_a_running_bot(bot_env: BotEnv, start_bot: Callable[[], BotProcess]) -> None:
    """The bot run with the image's LOG_FORMAT and HEALTH_PORT (a free port here): the Dockerfile's HEALTHCHECK
    command exits 0 while it runs and fails once it is stopped; its log lines are JSON naming the business."""
    _, _, image_env = _dockerfile()
    port = str(free_port())
    bot_env.env.update({"LOG_FORMAT": image_env["LOG_FORMAT"], "HEALTH_PORT": port})
    bot = start_bot()
    log = bot.wait_log("running (")
    check = _healthcheck()
    assert check[0] == "python"
    command = [sys.executable, *check[1:]]
    env = {**os.environ, "HEALTH_PORT": port}
    assert subprocess.run(command, env=env, capture_output=True, timeout=30, check=False).returncode == 0
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    running = next(e for e in entries if str(e["message"]).startswith("running ("))
    assert running["business"] == "default" and running["level"] == "INFO"
    assert bot.stop() == 0
    assert subprocess.run(command, env=env, capture_output=True, timeout=30, check=False).returncode != 0


def test_compose_wires_the_bot_to_postgresql() -> None:
    """compose.yaml: the bot reads .env, its DATABASE_URL names the db service's user, password and database, it
    waits for the database to be healthy, and both the database and the data folder live in named volumes."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    bot, db = compose["services"]["bot"], compose["services"]["db"]
    assert bot["env_file"] == ".env" and bot["build"] == "."
    url = bot["environment"]["DATABASE_URL"]
    user, database = db["environment"]["POSTGRES_USER"], db["environment"]["POSTGRES_DB"]
    assert url.startswith(f"postgresql://{user}:${{POSTGRES_PASSWORD") and url.endswith(f"@db:5432/{database}")
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    volumes = set(compose["volumes"])
    assert {v.split(":")[0] for v in db["volumes"] + bot["volumes"]} == volumes
    assert any(v.endswith(":" + bot["environment"]["DATA_DIR"]) for v in bot["volumes"])


def test_compose_workers_share_the_bots_database_and_data() -> None:
    """The optional workers (profile "workers") run `relance run --worker` from the bot's image, on the bot's
    database and data folder; `docker compose up` alone does not start them."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    bot, worker = compose["services"]["bot"], compose["services"]["worker"]
    assert worker["image"] == bot["image"] and worker["command"] == ["run", "--worker"]
    assert worker["profiles"] == ["workers"] and worker["env_file"] == bot["env_file"]
    assert worker["environment"] == bot["environment"] and worker["volumes"] == bot["volumes"]
    assert worker["depends_on"]["db"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    "line",
    [
        "Restart=on-failure",
        "RestartPreventExitStatus=2",
        "EnvironmentFile=/etc/relance/relance.env",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "User=relance",
    ],
)
def test_systemd_unit_has(line: str) -> None:
    """The systemd unit restarts on failure but not on a bad setting (exit 2), reads its EnvironmentFile, runs
    unprivileged and hardened."""
    assert line in (ROOT / "deploy" / "relance.service").read_text().splitlines()


def test_systemd_unit_runs_what_the_image_runs() -> None:
    """ExecStart runs the same command as the image (`relance run`)."""
    entry, cmd, _ = _dockerfile()
    unit = (ROOT / "deploy" / "relance.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()  # type: ignore[union-attr]
    assert Path(exec_start[0]).name == entry[0] and exec_start[1:] == [*entry[1:], *cmd]
