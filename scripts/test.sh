#!/usr/bin/env bash
# Installs everything, lints, and runs the whole test suite (unit, integration, fault, security, browser).
# Arguments go to pytest: scripts/test.sh -m "not slow" is the quick loop.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
scripts/lint.sh
exec .venv/bin/python -m pytest -q "$@"
