#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine: system packages (Chromium for the
# browser tests, Pango for PDF reports, fonts with Vietnamese glyphs), SIPp (Debian's sip-tester: the SIP
# demo's province and the SIP provider's test peer), a virtualenv with the project and, for the tests, axe-core
# from npm.
# Usage: scripts/install.sh [--test]    (idempotent: quick when everything is already there)
set -euo pipefail
# (grep without -q below: an early exit would SIGPIPE the producer and fail the pipeline under pipefail)
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

need=()
command -v chromium >/dev/null 2>&1 || [ -z "$extras" ] || need+=(chromium)
ldconfig -p 2>/dev/null | grep libpango-1.0 >/dev/null || need+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -i dejavu >/dev/null || need+=(fonts-dejavu-core fontconfig)
command -v pdftoppm >/dev/null 2>&1 || [ -z "$extras" ] || need+=(poppler-utils)
command -v npm >/dev/null 2>&1 || [ -z "$extras" ] || need+=(npm)  # axe-core for the accessibility test
command -v sipp >/dev/null 2>&1 || need+=(sip-tester)  # SIPp: the SIP demo's province (sipp/) and the tests' peer
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)  # the SIP provider's spoken prompts (Vietnamese voice)
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)  # SIP over TLS: the default CA list
command -v openssl >/dev/null 2>&1 || [ -z "$extras" ] || need+=(openssl)  # the SIP TLS tests' certificates
if [ ${#need[@]} -gt 0 ]; then
  echo "==> apt-get install ${need[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=".venv/.installed${extras:+-test}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "==> pip install -e .$extras"
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  log=$(mktemp)
  if ! .venv/bin/python -m pip install -q --disable-pip-version-check -e ".$extras" >"$log" 2>&1; then
    cat "$log"; exit 1
  fi
  rm -f "$log"
  .venv/bin/python -c "import flask, twilio, sqlite_utils, schedule, phonenumbers, weasyprint, pjsua2, webrtcvad" # fail loudly
  touch "$stamp"
fi

# The test extras also need axe-core (npm, pinned in package-lock.json): tests/test_accessibility.py injects
# its axe.min.js into Chromium. `npm ci` installs exactly the locked version into node_modules/.
if [ -n "$extras" ] && { [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  echo "==> npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
