"""Build the Lambda package that deploy/slack-bot.yaml and deploy/capacity-monitor.yaml deploy.

    python deploy/build_lambda.py [--out DIR] [--python-version X.Y] [--arch arm64|x86_64] [--platform TAG ...]

pip installs the runtime dependencies (pyproject.toml's `[project] dependencies`, the one list)
at the versions requirements.lock pins (the ones CI tests; deploy/lock.sh refreshes it), from
wheels built for the templates' runtime and architecture, whatever machine this runs on; then the
`bot` and `commands` package trees are copied in, Python sources only, and everything is compiled
to bytecode by an interpreter of the runtime's version: Lambda's code directory is read-only, so a
package without .pyc files compiles every module again on every cold start. The templates are the
source of truth: their `Runtime`, `Architectures` and `CodeUri` are the defaults here.
`sam deploy -t deploy/slack-bot.yaml` uploads the result as it is (see the README).

Standard library only, so it runs with any Python 3.11+ that has pip.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10 or older
    sys.exit("build_lambda.py: error: needs Python 3.11 or later (for tomllib)")

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
LOCK = "requirements.lock"  # relative to the repository
PACKAGES = ("bot", "commands")  # copied whole, subpackages included
# Parts of those trees left out of the package, and why.
EXCLUDED_TREES = {
    "bot/local": "the demo, the Slack stand-in and the moto helpers: test and demo code, never run on Lambda",
}
EXCLUDED_DIRS = {"__pycache__", "tests"}  # anywhere in those trees
LAMBDA_UNZIPPED_LIMIT = 262_144_000  # bytes (250 MiB), the function and its layers together
MARKER = ".opsbot-lambda-build"  # names a directory this script built, so a rebuild may replace it
ARCHITECTURES = {"arm64": "aarch64", "x86_64": "x86_64"}  # Lambda's names, the wheels' names

_RUNTIME = re.compile(r"^\s+Runtime:\s*(\S+?)\s*(?:#.*)?$", re.MULTILINE)
_ARCHITECTURES = re.compile(r"^\s+Architectures:\s*(?:\[\s*([\w-]+)\s*\]|\n\s*-\s*([\w-]+))", re.MULTILINE)
_CODE_URI = re.compile(r"^\s+CodeUri:\s*(\S+?)\s*(?:#.*)?$", re.MULTILINE)
_PYTHON_RUNTIME = re.compile(r"^python(3\.\d+)$")


class BuildError(Exception):
    """A build that cannot go on; the message says why, in one line."""


@dataclass(frozen=True)
class Deployment:
    """What the templates' functions run: one runtime, one architecture, one code directory."""

    python_version: str  # "3.13", from Runtime: python3.13
    arch: str  # "arm64" or "x86_64", Lambda's names
    code_dir: Path  # CodeUri, resolved against the template's directory


@dataclass(frozen=True)
class Target:
    """The wheels pip may install: CPython of one version on Lambda's Linux, or None for this interpreter."""

    python_version: str
    arch: str
    platforms: tuple[str, ...]

    def __str__(self) -> str:
        return f"python{self.python_version} {self.arch}"


def read_deployment(deploy_dir: Path = DEPLOY) -> Deployment:
    """The Runtime, Architectures and CodeUri every function template in deploy_dir agrees on.

    A text scan, not a YAML parser, so this script needs nothing beyond the standard library;
    tests/deploy/test_lambda_package.py checks it against cfn-lint's parse of the templates."""
    found: dict[str, dict[str, set[str]]] = {"Runtime": {}, "Architectures": {}, "CodeUri": {}}
    templates = [t for t in sorted(deploy_dir.glob("*.yaml")) if "AWS::Serverless::Function" in t.read_text()]
    if not templates:
        raise BuildError(f"no SAM template with an AWS::Serverless::Function in {deploy_dir}")
    for template in templates:
        text = template.read_text()
        values = {
            "Runtime": set(_RUNTIME.findall(text)),
            "Architectures": {flow or block for flow, block in _ARCHITECTURES.findall(text)},
            "CodeUri": {str((template.parent / uri).resolve()) for uri in _CODE_URI.findall(text)},
        }
        for key, seen in values.items():
            if not seen:
                raise BuildError(f"{template.name} names no {key}")
            for value in seen:
                found[key].setdefault(value, set()).add(template.name)
    for key, values_seen in found.items():
        if len(values_seen) > 1:
            disagreeing = "; ".join(f"{v} in {', '.join(sorted(t))}" for v, t in sorted(values_seen.items()))
            raise BuildError(f"the templates disagree on {key}: {disagreeing}")
    (runtime,) = found["Runtime"]
    (arch,) = found["Architectures"]
    (code_dir,) = found["CodeUri"]
    version = _PYTHON_RUNTIME.match(runtime)
    if not version:
        raise BuildError(f"the templates' Runtime {runtime} is not a Python runtime (pythonX.Y)")
    if arch not in ARCHITECTURES:
        raise BuildError(f"the templates' architecture {arch} is not one of {', '.join(ARCHITECTURES)}")
    return Deployment(python_version=version.group(1), arch=arch, code_dir=Path(code_dir))


def lambda_platforms(python_version: str, arch: str) -> tuple[str, ...]:
    """Every manylinux tag Lambda's OS for that runtime runs, newest first (pip does not expand them).

    python3.12 and later run on Amazon Linux 2023 (glibc 2.34), earlier ones on Amazon Linux 2 (2.26)."""
    major, minor = (int(part) for part in python_version.split("."))
    glibc_minor = 34 if (major, minor) >= (3, 12) else 26
    machine = ARCHITECTURES[arch]
    return (*(f"manylinux_2_{m}_{machine}" for m in range(glibc_minor, 16, -1)), f"manylinux2014_{machine}")


def runtime_requirements(pyproject: Path) -> list[str]:
    """pyproject.toml's `[project] dependencies`, as pip takes them."""
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise BuildError(f"cannot read {pyproject}: {e}") from None
    requirements = project.get("dependencies")
    if not isinstance(requirements, list) or not all(isinstance(r, str) for r in requirements):
        raise BuildError(f"{pyproject} has no [project] dependencies list")
    return requirements


def pip_command(requirements: Sequence[str], dest: Path, target: Target | None, lock: Path | None = None) -> list[str]:
    """pip installing the requirements into dest: binary wheels only, for the target (or this interpreter),
    at the versions the lock pins."""
    command = [sys.executable, "-m", "pip", "install", "--target", str(dest), "--only-binary=:all:"]
    if lock is not None:
        command += ["--constraint", str(lock)]
    # No .pyc from pip: they would be this interpreter's; compile_bytecode writes the runtime's.
    command += ["--no-compile", "--no-input", "--disable-pip-version-check", "--no-warn-script-location"]
    if target is not None:
        command += ["--implementation", "cp", "--python-version", target.python_version]
        for platform in target.platforms:
            command += ["--platform", platform]
    return [*command, *requirements]


def install_requirements(
    requirements: Sequence[str], dest: Path, target: Target | None, lock: Path, verbose: bool
) -> None:
    command = pip_command(requirements, dest, target, lock)
    result = subprocess.run(command, check=False, capture_output=not verbose, text=True)
    if verbose:
        detail = "see pip's output above"
    else:
        lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
        errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
        # With the lock as constraints, pip names a missing wheel as a conflict with the pin.
        pinned = [m[1] for line in lines if (m := re.match(r"The user requested \(constraint\) (\S+)", line))]
        if pinned:
            errors.append(f"No matching distribution found for {pinned[0]} (the version {LOCK} pins)")
        detail = (errors or lines or [f"exit status {result.returncode}"])[-1] + " (-v shows pip's output)"
    if result.returncode != 0:
        raise BuildError(f"pip could not install the runtime dependencies for {target or 'this interpreter'}: {detail}")
    shutil.rmtree(dest / "bin", ignore_errors=True)  # console scripts, written for this machine's interpreter


def excluded(relative: PurePosixPath) -> bool:
    """Whether a source file (relative to the repository) stays out of the package."""
    in_excluded_dir = any(part in EXCLUDED_DIRS for part in relative.parts[:-1])
    return in_excluded_dir or any(relative.is_relative_to(tree) for tree in EXCLUDED_TREES)


def package_sources(root: Path) -> Iterator[PurePosixPath]:
    """The Python sources of the package trees, relative to root, exclusions left out."""
    for package in PACKAGES:
        if not (root / package / "__init__.py").is_file():
            raise BuildError(f"{root / package} is not a Python package")
        for path in sorted((root / package).rglob("*.py")):
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if path.is_file() and not excluded(relative):
                yield relative


def copy_sources(root: Path, dest: Path) -> None:
    for package in PACKAGES:
        if (dest / package).exists():
            raise BuildError(f"a dependency installs a top-level {package!r}, which would clash with opsbot's")
    for relative in package_sources(root):
        (dest / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / relative, dest / relative)


def bytecode_compiler(target: Target | None) -> str | None:
    """An interpreter of the target's version, which alone writes .pyc files the runtime loads:
    this one, or pythonX.Y on PATH; None when there is none."""
    if target is None or target.python_version == f"{sys.version_info.major}.{sys.version_info.minor}":
        return sys.executable
    found = shutil.which(f"python{target.python_version}")
    if found is None:
        return None
    # A version manager's shim may be on PATH for a version it will not run: ask the interpreter.
    probe = [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    try:
        answer = subprocess.run(probe, check=False, capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if answer == target.python_version else None


def compile_bytecode(tree: Path, python: str) -> None:
    """Compile every module in the tree. Hash-based and unchecked: zip keeps timestamps to 2 s, so
    timestamp-checked .pyc files would look stale and be compiled again, in memory, at each start."""
    command = [python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    # Not the dependencies' own test suites (13 MiB of bytecode that never runs; the unzipped limit is near).
    command += ["-x", r"[/\\]tests?[/\\]", str(tree)]
    result = subprocess.run(command, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        raise BuildError(f"could not compile the package to bytecode: {(lines or ['no output'])[-1]}")


def tree_size(tree: Path) -> int:
    """Bytes of the files, as Lambda counts the unzipped package."""
    return sum(os.path.getsize(os.path.join(d, name)) for d, _, files in os.walk(tree) for name in files)


def check_out_dir(out: Path, root: Path) -> None:
    """Refuse an output directory whose replacement would destroy anything but an earlier build."""
    if out == root or out in root.parents:
        raise BuildError(f"--out {out} would replace the repository")
    for package in PACKAGES:
        if out.is_relative_to(root / package):
            raise BuildError(f"--out {out} is inside the sources it copies ({package}/)")
    if out.exists() and not out.is_dir():
        raise BuildError(f"--out {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise BuildError(f"refusing to replace {out}: it is not empty and not an earlier build (no {MARKER})")


def write_marker(tree: Path, target: Target | None) -> list[str]:
    """The marker, which also lists what was installed; returns that list."""
    installed = sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions(path=[str(tree)]))
    built_for = f"{target} ({', '.join(target.platforms)})" if target else "the interpreter that built it"
    header = f"Built by deploy/build_lambda.py for {built_for}; replaced whole by each build.\n"
    (tree / MARKER).write_text(header + "".join(f"{line}\n" for line in installed))
    return installed


def build(out: Path, target: Target | None, root: Path = ROOT, verbose: bool = False) -> tuple[int, list[str]]:
    """Build the package into out (replacing an earlier build only once this one succeeded).

    Returns its unzipped size in bytes and the distributions installed."""
    out = out.resolve()
    requirements = runtime_requirements(root / "pyproject.toml")
    lock = root / LOCK
    if not lock.is_file():
        raise BuildError(f"no {LOCK} in {root}: deploy/lock.sh writes it")
    check_out_dir(out, root)
    compiler = bytecode_compiler(target)
    if compiler is None:
        print(
            f"warning: no python{target.python_version if target else ''} on PATH: the package ships no bytecode, "
            "so each cold start compiles every module (about half a second more); install it and build again",
            file=sys.stderr,
        )
    print(f"building {shown(out)} for {target or 'this interpreter'} ...", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        install_requirements(requirements, staging, target, lock, verbose)
        copy_sources(root, staging)
        if compiler is not None:
            compile_bytecode(staging, compiler)
        installed = write_marker(staging, target)
        size = tree_size(staging)
        if size > LAMBDA_UNZIPPED_LIMIT:
            raise BuildError(f"the package is {mib(size)}, over Lambda's unzipped limit, {mib(LAMBDA_UNZIPPED_LIMIT)}")
        if out.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(previous / out.name)
            shutil.rmtree(previous)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return size, installed


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build_lambda.py",
        description="Build the Lambda package of deploy/*.yaml from wheels for their runtime and architecture.",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="package directory (default: the templates' CodeUri)")
    parser.add_argument("--python-version", metavar="X.Y", help="target Python (default: the templates' Runtime)")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), help="target architecture (default: the templates')")
    parser.add_argument(
        "--platform",
        action="append",
        metavar="TAG",
        help="wheel platform tag, repeatable (default: every manylinux tag the runtime's Amazon Linux runs)",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="build for the interpreter running this script instead (tests, local tries); not deployable elsewhere",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show pip's output")
    args = parser.parse_args(argv)
    if args.local and (args.python_version or args.arch or args.platform):
        parser.error("--local builds for this interpreter: it takes no --python-version, --arch or --platform")
    if args.python_version is not None and not re.fullmatch(r"3\.\d+", args.python_version):
        parser.error(f"--python-version: expected 3.X, e.g. 3.13, got {args.python_version!r}")
    try:
        deployment = read_deployment()
        target = None
        if not args.local:
            version = args.python_version or deployment.python_version
            arch = args.arch or deployment.arch
            target = Target(version, arch, tuple(args.platform or lambda_platforms(version, arch)))
            if (version, arch) != (deployment.python_version, deployment.arch):
                declared = f"python{deployment.python_version} {deployment.arch}"
                print(f"note: the templates run {declared}; building for {target}", file=sys.stderr)
        out = args.out or deployment.code_dir
        size, installed = build(out, target, verbose=args.verbose)
    except BuildError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"{parser.prog}: error: {e.strerror or e}{f': {e.filename}' if e.filename else ''}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    print(
        f"built {shown(out.resolve())}: {len(installed)} distributions and {', '.join(PACKAGES)}, "
        f"{mib(size)} unzipped of Lambda's {mib(LAMBDA_UNZIPPED_LIMIT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
