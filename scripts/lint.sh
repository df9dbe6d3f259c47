#!/usr/bin/env bash
# Lints the whole tree with ruff (rules and their reasons: [tool.ruff] in pyproject.toml).
# Usage: scripts/lint.sh [ruff check options]    e.g. scripts/lint.sh --statistics
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/ruff check . "$@"
