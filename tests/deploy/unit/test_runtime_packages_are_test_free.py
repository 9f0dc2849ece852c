"""What ships stays free of test code: no runtime package (shared/, services/*, and the libs/*
they depend on) depends on pytest or the test kit (rex-testkit), in its pyproject or in any
import under its src/. Test doubles, fixtures and harnesses live in libs/rex-testkit."""

import ast
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
FORBIDDEN_MODULES = ("pytest", "_pytest", "rex_testkit")


def _normalized(requirement: str) -> str:
    """The distribution name of a requirement string, PEP 503-normalized."""
    name = re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def forbidden_requirement(requirement: str) -> bool:
    """pytest, any pytest plugin (pytest-*), or the test kit."""
    name = _normalized(requirement)
    return name == "rex-testkit" or name == "pytest" or name.startswith("pytest-")


def forbidden_imports(source: str) -> list[str]:
    """The modules `source` imports that are test-only."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [n for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    return found


def _project(folder: Path) -> dict[str, Any]:
    project: dict[str, Any] = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return project


def _requirements(folder: Path) -> list[str]:
    """What installing the package installs: its dependencies and every extra's."""
    project = _project(folder)
    listed = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        listed += extra
    return listed


def runtime_packages() -> list[Path]:
    """shared/, every service, and every libs/* package one of those depends on."""
    core = [REPO / "shared", *sorted(p.parent for p in REPO.glob("services/*/pyproject.toml"))]
    needed = {_normalized(r) for folder in core for r in _requirements(folder)}
    libs = [
        p.parent
        for p in sorted(REPO.glob("libs/*/pyproject.toml"))
        if _normalized(str(_project(p.parent)["name"])) in needed
    ]
    return core + libs


PACKAGES = runtime_packages()


@pytest.mark.parametrize(
    ("requirement", "forbidden"),
    [
        ("pytest>=8.3", True),
        ("pytest-asyncio>=0.25", True),
        ("rex-testkit", True),
        ("rex_testkit ; python_version >= '3.11'", True),
        ("pytestish>=1", False),
        ("rex-shared", False),
        ("aiosmtpd>=1.4.6", False),
    ],
)
def test_test_only_requirements_are_recognized(requirement: str, forbidden: bool) -> None:
    assert forbidden_requirement(requirement) is forbidden


def test_test_only_imports_are_recognized() -> None:
    source = (
        "import pytest\nimport os, rex_testkit.kafka\nfrom _pytest.fixtures import fixture\n"
        "from rex_testkit.ports import free_port\nfrom . import pytest_like\nimport rex_shared\n"
    )
    assert forbidden_imports(source) == [
        "pytest",
        "rex_testkit.kafka",
        "_pytest.fixtures",
        "rex_testkit.ports",
    ]


def test_every_runtime_package_is_checked() -> None:
    names = {p.relative_to(REPO).as_posix() for p in PACKAGES}
    assert {"shared", "services/evaluator", "services/notifier"} <= names
    assert "libs/rex-testkit" not in names


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_a_runtime_package_does_not_depend_on_test_code(package: Path) -> None:
    bad = [r for r in _requirements(package) if forbidden_requirement(r)]
    assert not bad, f"{package.relative_to(REPO)}/pyproject.toml depends on {bad}"


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_a_runtime_package_imports_no_test_code(package: Path) -> None:
    sources = sorted((package / "src").rglob("*.py"))
    assert sources, f"no sources under {package.relative_to(REPO)}/src"
    bad = {
        f"{path.relative_to(REPO)}: {', '.join(found)}"
        for path in sources
        if (found := forbidden_imports(path.read_text()))
    }
    assert not bad, "test-only imports in runtime code:\n" + "\n".join(sorted(bad))
