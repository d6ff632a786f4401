"""The SAM CLI the documentation's deploy runs (pinned in deploy/sam.lock, installed by .ci/run in a
virtualenv of its own): every template passes `sam validate` (plain and --lint) and `sam package`
uploads its code and rewrites every CodeUri, against moto's S3 on loopback, as `sam deploy` does
before it creates the change set. No flag beyond the documented ones: `sam deploy` takes none either."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from cfnlint.decode.decode import decode_str

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
TEMPLATES = sorted(p.name for p in DEPLOY.glob("*.yaml"))
BUCKET = "opsbot-sam-package"


@pytest.fixture(scope="module")
def sam() -> str:
    found = os.environ.get("OPSBOT_SAM_CLI") or shutil.which("sam")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("CI installs the SAM CLI (.ci/run) and sets OPSBOT_SAM_CLI; it is missing")
    pytest.skip("no SAM CLI: python3 -m venv .venv-sam && .venv-sam/bin/pip install -r deploy/sam.lock")


def run_sam(sam: str, *args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(home),  # its settings and version-check time, not the user's
        # Its weekly version check asks PyPI: a dead proxy answers instead. moto is on loopback.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    return subprocess.run([sam, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def checkout(tmp_path: Path) -> Path:
    """The deploy directory as a fresh clone has it, plus the package directory the build would fill."""
    root = tmp_path / "repo"
    shutil.copytree(DEPLOY, root / "deploy", ignore=shutil.ignore_patterns("build"))
    (root / "deploy" / "build" / "lambda" / "bot").mkdir(parents=True)
    (root / "deploy" / "build" / "lambda" / "bot" / "lambda_handler.py").write_text("def slack_handler(e, c): pass\n")
    return root


@pytest.mark.parametrize("template", TEMPLATES)
def test_sam_validates_and_packages_the_template_with_the_documented_flags_only(
    sam: str, template: str, moto: str, tmp_path: Path
) -> None:
    root = checkout(tmp_path)
    home = tmp_path / "sam-home"
    path = f"deploy/{template}"

    for lint in ([], ["--lint"]):
        validated = run_sam(sam, "validate", *lint, "-t", path, cwd=root, home=home)
        assert validated.returncode == 0, validated.stdout + validated.stderr
        assert "is a valid SAM Template" in validated.stdout + validated.stderr

    boto3.client("s3").create_bucket(Bucket=BUCKET)
    packaged = root / "packaged.yaml"
    result = run_sam(
        sam, "package", "-t", path, "--s3-bucket", BUCKET, "--output-template-file", str(packaged), cwd=root, home=home
    )
    assert result.returncode == 0, result.stdout + result.stderr
    doc, errors = decode_str(packaged.read_text())
    assert not errors and doc is not None
    functions = [r for r in doc["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    # A template of functions ships the package; the target-account role's template has none.
    assert functions or template == "target-account-role.yaml"
    uploaded = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    for function in functions:
        uri = function["Properties"].get("CodeUri") or doc["Globals"]["Function"]["CodeUri"]
        assert uri.startswith(f"s3://{BUCKET}/"), uri
        assert uri.removeprefix(f"s3://{BUCKET}/") in uploaded
