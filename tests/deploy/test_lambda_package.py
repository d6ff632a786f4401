"""deploy/build_lambda.py: it builds for what the templates declare, from pyproject.toml's runtime
dependencies at the versions requirements.lock pins and the whole bot and commands trees (no tests,
caches or bot/local), compiled to unchecked hash-based bytecode; a package built for this interpreter
imports every handler the templates name in an interpreter that sees nothing else, holds no test
tool, and fits Lambda's unzipped limit. User mistakes are one-line errors."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cfnlint.decode.decode import decode_str
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCRIPT = DEPLOY / "build_lambda.py"
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes; "Unzipped size must be smaller than 262144000 bytes"
TEST_TOOLS = ("moto", "pytest", "_pytest", "cfnlint", "mypy", "ruff", "jsonschema", "yaml")


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


builder = load_builder()


def function_templates() -> dict[Path, list[dict[str, Any]]]:
    """Each template with a function, and its functions' properties, Globals applied (as cfn-lint parses them)."""
    found = {}
    for path in sorted(DEPLOY.glob("*.yaml")):
        doc, errors = decode_str(path.read_text())
        assert not errors and doc is not None
        defaults = doc.get("Globals", {}).get("Function", {})
        functions = [
            {**defaults, **r["Properties"]}
            for r in doc["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"
        ]
        if functions:
            found[path] = functions
    assert {p.name for p in found} >= {"slack-bot.yaml", "capacity-monitor.yaml"}
    return found


def run_builder(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )


def test_the_builder_builds_for_the_runtime_architecture_and_code_dir_the_templates_declare() -> None:
    deployment = builder.read_deployment()
    for path, functions in function_templates().items():
        for props in functions:
            assert props["Runtime"] == f"python{deployment.python_version}", path.name
            assert props["Architectures"] == [deployment.arch], path.name
            assert (path.parent / props["CodeUri"]).resolve() == deployment.code_dir, path.name
    assert deployment.code_dir == DEPLOY / "build" / "lambda"  # not the repository, tests and all


def test_templates_that_disagree_are_refused(tmp_path: Path) -> None:
    function = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: build\n"
    (tmp_path / "a.yaml").write_text(function + "      Runtime: python3.13\n      Architectures: [arm64]\n")
    (tmp_path / "b.yaml").write_text(function + "      Runtime: python3.12\n      Architectures:\n        - arm64\n")
    with pytest.raises(builder.BuildError) as refused:
        builder.read_deployment(tmp_path)
    assert str(refused.value) == "the templates disagree on Runtime: python3.12 in b.yaml; python3.13 in a.yaml"


def test_the_package_directory_is_ignored_by_git() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    probe = builder.read_deployment().code_dir / "bot" / "__init__.py"
    assert subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(probe)]).returncode == 0


def test_pip_may_install_only_wheels_for_cpython_of_the_runtime_on_lambdas_linux() -> None:
    platforms = builder.lambda_platforms("3.13", "arm64")
    target = builder.Target("3.13", "arm64", platforms)
    command = builder.pip_command(["slack-bolt>=1.21"], Path("/out"), target)
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert "--only-binary=:all:" in command
    for option, value in [("--target", "/out"), ("--implementation", "cp"), ("--python-version", "3.13")]:
        assert command[command.index(option) + 1] == value
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"] == list(platforms)
    assert command[-1] == "slack-bolt>=1.21"
    assert "--constraint" not in command  # no lock given
    locked = builder.pip_command(["x"], Path("/out"), target, ROOT / "requirements.lock")
    assert locked[locked.index("--constraint") + 1] == str(ROOT / "requirements.lock")
    # Amazon Linux 2023 has glibc 2.34: every manylinux tag up to it, none beyond; pip does not expand them.
    assert platforms[0] == "manylinux_2_34_aarch64" and "manylinux_2_35_aarch64" not in platforms
    assert {"manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64"} <= set(platforms)
    assert builder.lambda_platforms("3.11", "x86_64")[0] == "manylinux_2_26_x86_64"  # Amazon Linux 2
    assert "--python-version" not in builder.pip_command(["x"], Path("/out"), None)  # --local: this interpreter


def test_bytecode_is_compiled_only_by_an_interpreter_of_the_runtimes_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert builder.bytecode_compiler(None) == sys.executable  # --local
    assert builder.bytecode_compiler(builder.Target(here, "arm64", ())) == sys.executable
    monkeypatch.setenv("PATH", "")  # no python3.99 anywhere: no bytecode rather than the wrong version's
    assert builder.bytecode_compiler(builder.Target("3.99", "arm64", ())) is None
    # A python3.99 on PATH that is another version (a version manager's shim): not taken either.
    shim = tmp_path / "python3.99"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} "$@"\n')
    shim.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert builder.bytecode_compiler(builder.Target("3.99", "arm64", ())) is None


def test_a_build_without_the_lock_is_refused(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text())
    with pytest.raises(builder.BuildError, match=r"no requirements\.lock in .*: deploy/lock\.sh writes it"):
        builder.build(tmp_path / "out", None, root=tmp_path)


def test_the_sources_are_the_package_trees_whole_without_tests_caches_or_bot_local(tmp_path: Path) -> None:
    repo, dest = tmp_path / "repo", tmp_path / "dest"
    kept = [
        "bot/__init__.py",
        "bot/lambda_handler.py",
        "bot/slack/__init__.py",
        "bot/slack/app.py",
        "bot/state/dynamodb/table.py",
        "commands/__init__.py",
        "commands/eb_ip/__init__.py",
        "commands/eb_ip/ssh.py",
    ]
    left_out = [
        "bot/local/__init__.py",
        "bot/local/demo.py",
        "bot/local/moto/server.py",
        "bot/__pycache__/app.cpython-311.pyc",
        "bot/slack/__pycache__/app.cpython-313.pyc",
        "bot/py.typed",
        "bot/tests/test_app.py",
        "commands/eb_ip/tests/test_ssh.py",
        "tests/test_end_to_end.py",
        "deploy/build_lambda.py",
    ]
    for name in kept + left_out:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(f"# {name}\n")
    builder.copy_sources(repo, dest)
    copied = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())
    assert copied == sorted(kept)
    assert (dest / "bot/slack/app.py").read_text() == "# bot/slack/app.py\n"
    assert "bot/local" in builder.EXCLUDED_TREES  # a named exclusion


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "error:" in line]
    assert line.startswith("build_lambda.py: error: ")
    return line


def test_user_mistakes_are_one_line_errors_and_a_non_zero_exit(tmp_path: Path) -> None:
    bad_version = run_builder("--python-version", "13")
    assert bad_version.returncode == 2
    assert "--python-version: expected 3.X" in one_error_line(bad_version)

    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    refused = run_builder("--local", "--out", str(precious))
    assert refused.returncode == 1
    assert "refusing to replace" in one_error_line(refused)
    assert (precious / "notes.txt").read_text() == "keep me"

    assert "would replace the repository" in one_error_line(run_builder("--local", "--out", str(ROOT)))


def test_a_failed_pip_run_names_the_requirement_and_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "no-wheels").mkdir()
    offline = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,  # no configured index or find-links: nothing to install from
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(tmp_path / "no-wheels"),
    }
    result = run_builder("--out", str(tmp_path / "out" / "lambda"), env=offline)
    assert result.returncode == 1
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    line = one_error_line(result)
    assert "pip could not install the runtime dependencies for python3.13 arm64" in line
    missing = re.search(
        r"No matching distribution found for ([A-Za-z0-9_.-]+)==\S+ \(the version requirements\.lock pins\)", line
    )
    assert missing and any(r.startswith(missing.group(1)) for r in runtime), line
    assert list((tmp_path / "out").iterdir()) == []  # no half-built package, no staging directory


# -- a real build, for this interpreter


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A package built by the script for the local interpreter, and what the script printed."""
    out = tmp_path_factory.mktemp("lambda-package") / "lambda"
    result = run_builder("--local", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out, result.stdout


CLEAN_IMPORT = """
import importlib, importlib.util, json, pkgutil, sys
package, handlers, forbidden = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split(",")
sys.path.insert(0, package)
for handler in handlers:
    module_name, _, name = handler.rpartition(".")
    assert callable(getattr(importlib.import_module(module_name), name)), handler
modules = {}
for top in ("bot", "commands"):
    root = importlib.import_module(top)
    modules[top] = root.__file__
    for info in pkgutil.walk_packages(root.__path__, prefix=top + "."):
        modules[info.name] = importlib.import_module(info.name).__file__
print(json.dumps({
    "modules": modules,
    "found": [name for name in forbidden if importlib.util.find_spec(name) is not None],
    "site": "site" in sys.modules,
}))
"""


@pytest.mark.slow
def test_every_handler_the_templates_name_imports_from_the_package_alone(
    package: tuple[Path, str], tmp_path: Path
) -> None:
    out, _ = package
    handlers = sorted({props["Handler"] for functions in function_templates().values() for props in functions})
    assert len(handlers) >= 2
    # No site-packages, no environment, no repository on the path: only the stdlib and the package.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-B", "-c", CLEAN_IMPORT, str(out), ",".join(handlers), ",".join(TEST_TOOLS)],
        cwd=tmp_path,
        env={},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["found"] == [] and report["site"] is False
    modules = report["modules"]
    assert {h.rpartition(".")[0] for h in handlers} <= set(modules)
    assert all(Path(path).is_relative_to(out) for path in modules.values()), modules


def distribution_closure(requirements: list[str], site: Path) -> set[str]:
    """The distributions requirements need, transitively, as installed in site (extras followed)."""
    from importlib import metadata

    installed = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}
    needed: set[str] = set()
    queue = [Requirement(r) for r in requirements]
    while queue:
        requirement = queue.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e}) for e in ("", *requirement.extras)):
            continue
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in needed:
            continue
        needed.add(key)
        assert name in installed, f"{requirement} is needed but not in the package"
        for child in installed[name].requires or []:
            child_requirement = Requirement(child)
            marker = child_requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in ("", *requirement.extras)):
                child_requirement.marker = None
                queue.append(child_requirement)
    return {key.partition("[")[0] for key in needed}


@pytest.mark.slow
def test_the_package_holds_the_runtime_dependencies_the_sources_and_nothing_else(package: tuple[Path, str]) -> None:
    out, _ = package
    from importlib import metadata

    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    installed = {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions(path=[str(out)])}
    assert installed == distribution_closure(runtime, out)
    assert not installed & {"moto", "pytest", "cfn-lint", "mypy", "ruff"}
    for name in TEST_TOOLS:
        assert not (out / name).exists() and not (out / f"{name}.py").exists(), name
    assert not (out / "tests").exists() and not (out / "bin").exists()

    def sources(root: Path) -> set[str]:
        files = {p.relative_to(root) for top in ("bot", "commands") for p in (root / top).rglob("*") if p.is_file()}
        left_out = {"__pycache__", "tests"}
        return {f.as_posix() for f in files if not left_out & set(f.parts) and not f.is_relative_to("bot/local")}

    expected = {name for name in sources(ROOT) if name.endswith(".py")}
    assert sources(out) == expected  # every source, subpackages included; no py.typed, no caches
    assert not (out / "bot" / "local").exists()
    # The versions CI tests: every distribution in the package at the version the lock pins.
    pinned = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", (ROOT / "requirements.lock").read_text(), re.MULTILINE))
    pinned = {canonicalize_name(name): version for name, version in pinned.items()}
    for dist in metadata.distributions(path=[str(out)]):
        assert dist.version == pinned[canonicalize_name(dist.metadata["Name"])], dist.metadata["Name"]


def pyc_flags(pyc: Path) -> int:
    """The flags word of a .pyc header (PEP 552): bit 0 hash-based, bit 1 checked against the source."""
    return int.from_bytes(pyc.read_bytes()[4:8], "little")


@pytest.mark.slow
def test_every_module_ships_bytecode_that_the_runtime_never_checks_against_its_source(
    package: tuple[Path, str],
) -> None:
    out, _ = package
    tag = sys.implementation.cache_tag  # --local: this interpreter's bytecode
    modules = [
        p
        for top in ("bot", "commands", "slack_bolt", "slack_sdk", "boto3", "botocore")
        for p in (out / top).rglob("*.py")
    ]
    assert len(modules) > 500
    for module in modules:
        pyc = module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc"
        assert pyc.is_file(), module
        assert pyc_flags(pyc) == 0b01, module  # hash-based, unchecked: zip's 2 s timestamps cannot make it stale
    assert not list(out.glob("**/tests/__pycache__"))  # the dependencies' test suites are left uncompiled


@pytest.mark.slow
def test_the_package_fits_lambdas_unzipped_limit(package: tuple[Path, str]) -> None:
    out, printed = package
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"\nLambda package for this interpreter: {size / 2**20:.1f} MiB unzipped, {size:,} bytes")
    assert size < LAMBDA_UNZIPPED_LIMIT
    assert re.search(rf"\b{size / 2**20:.1f} MiB unzipped of Lambda's 250\.0 MiB", printed), printed
