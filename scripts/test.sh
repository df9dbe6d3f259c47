#!/usr/bin/env bash
# Installs everything and runs the whole test suite (unit, integration, fault, security, browser).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
exec .venv/bin/python -m pytest -q "$@"
