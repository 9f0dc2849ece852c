"""The web app's own checks: TypeScript strict type check and its unit tests (vitest)."""

import subprocess
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[3] / "web"
pytestmark = pytest.mark.timeout(600)


def npm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["npm", *args], cwd=WEB, capture_output=True, text=True, timeout=540, check=False
    )


@pytest.fixture(scope="module")
def installed() -> None:
    """node_modules exactly as package-lock.json says (npm ci), once."""
    if not (WEB / "node_modules" / ".package-lock.json").is_file():
        done = npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, done.stderr


def test_the_web_app_type_checks(installed: None) -> None:
    done = npm("run", "typecheck")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_web_apps_unit_tests_pass(installed: None) -> None:
    done = npm("test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout and " failed" not in done.stdout
