"""The README's commands work as written on the day they are run.

The ```sh blocks from "Using it" up to "How it is built" are read from README.md when the test
runs (so the test follows the README as it changes) and run in order in a temporary folder,
with ``DONGNE_DATABASE_URL`` pointing there and the real clock. Only what cannot run in a test
is left out: lines that start a server, and `make` and venv activation (the test runs the
installed ``dongne`` already). Optional parts written in square brackets (``[--status all]``)
are documentation notation and are dropped. Prompts (passwords) are answered on stdin.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyotp

from dongne.domain.calendar import seoul_day

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST_SECTION = "## Using it"
END_SECTION = "## How it is built"
NOT_RUN = re.compile(r"^(make\b|\. |source\b|dongne serve\b|dongne witness serve\b)")
OPTIONAL = re.compile(r"\s\[[^\]]*\]")
TOTP_SECRET = re.compile(r"(?:secret=|TOTP[^:\n]*:\s*)([A-Z2-7]{16,})")
PASSWORD = "readme-walkthrough-password"  # noqa: S105 - typed at prompts in a scratch database
COMMAND_TIMEOUT_SECONDS = 120


def readme_commands(text: str) -> list[str]:
    """Each command line of the sh blocks in the walked sections, continuations joined."""
    start = text.index(FIRST_SECTION)
    end = text.index(END_SECTION, start)
    commands: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text[start:end], flags=re.DOTALL):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            command = OPTIONAL.sub("", line).strip()
            if command and not command.startswith("#") and not NOT_RUN.match(command):
                commands.append(command)
    return commands


def test_the_readme_is_read_into_commands() -> None:
    commands = readme_commands(README.read_text(encoding="utf-8"))
    assert commands[0].startswith("dongne init")
    assert not any(NOT_RUN.match(command) for command in commands)
    assert any(command.startswith("dongne settlement run") for command in commands)


def test_every_readme_command_runs_as_written_today(tmp_path: Path) -> None:
    began = seoul_day(datetime.now(UTC))
    failures = _walk_the_readme(tmp_path / "walk")
    if failures and seoul_day(datetime.now(UTC)) != began:
        # A Seoul midnight passed during the walk: the day the settlement commands default
        # to (the last Seoul day that has ended) moved between `settlement run` and the
        # commands that read its run, as it would for a reader typing them across midnight.
        failures = _walk_the_readme(tmp_path / "walked-again")
    assert failures == [], "README commands that failed:\n" + "\n".join(failures)


def _walk_the_readme(folder: Path) -> list[str]:
    """Run each command in a fresh ``folder``; what failed, with its last words."""
    folder.mkdir()
    environment = os.environ | {
        "DONGNE_DATABASE_URL": f"sqlite:///{folder}/dongne.db",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COLUMNS": "200",
    }
    environment.pop("DONGNE_TOKEN", None)
    failures: list[str] = []
    totp_secrets: list[str] = []
    for command in readme_commands(README.read_text(encoding="utf-8")):
        # A password prompt (asked twice when an account is made), then, once an official
        # exists, the log-in's TOTP code.
        answers = [PASSWORD, pyotp.TOTP(totp_secrets[-1]).now()] if totp_secrets else [PASSWORD] * 2
        finished = subprocess.run(  # noqa: S603 - the README's own commands, in a scratch folder
            ["bash", "-c", command],  # noqa: S607 - bash from PATH, as a reader would run it
            cwd=folder,
            env=environment,
            input="\n".join(answers) + "\n",
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
        totp_secrets += TOTP_SECRET.findall(finished.stdout)
        if finished.returncode != 0:
            said = (finished.stdout + finished.stderr).strip().splitlines()[-3:]
            failures.append(f"exit {finished.returncode}: {command}\n    " + "\n    ".join(said))
    return failures
