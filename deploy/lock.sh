#!/usr/bin/env bash
# Refresh the pinned versions: requirements.lock (what CI tests and deploy/build_lambda.py packages) and
# deploy/sam.lock (the SAM CLI, in a virtualenv of its own: its pins would downgrade boto3 and cfn-lint here).
# Needs uv (pip install uv). One version per package for Linux, Python 3.11 up: the Lambda build
# resolves the same pins for its runtime's wheels (python3.13, arm64).
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile -q --python-version 3.11 --python-platform linux --extra test pyproject.toml -o requirements.lock
echo "aws-sam-cli==1.170.0" | uv pip compile -q --python-version 3.11 --python-platform linux - -o deploy/sam.lock
