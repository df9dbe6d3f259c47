#!/usr/bin/env bash
# Installs everything and starts the whole system on its embedded defaults: a SQLite file in instance/,
# demo data, the web app (gunicorn) and the scheduler placing simulated test calls. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export FLASK_APP=wsgi
export FLASK_CALL_PROVIDER="${FLASK_CALL_PROVIDER:-simulator}"
port="${PORT:-5000}"
export FLASK_PUBLIC_BASE_URL="${FLASK_PUBLIC_BASE_URL:-http://127.0.0.1:$port}"
# The demo is served over plain http on this machine only, where a Secure cookie would never be sent
# back; any real deployment sits behind TLS and keeps the default (Secure).
export FLASK_SESSION_COOKIE_SECURE="${FLASK_SESSION_COOKIE_SECURE:-false}"
# The demo speeds the simulated clock up so every outcome shows within a minute.
export FLASK_DEMO_MODE="${FLASK_DEMO_MODE:-true}"
flask=.venv/bin/flask

$flask init-db
$flask registry demo

$flask monitor run &
scheduler=$!
.venv/bin/gunicorn --workers 2 --threads 4 --bind "127.0.0.1:$port" --access-logfile - --log-level warning wsgi:app &
web=$!
trap 'kill $scheduler $web 2>/dev/null; wait 2>/dev/null' INT TERM EXIT

cat <<TXT

  Hệ thống đang chạy / running:  http://127.0.0.1:$port/
  Cuộc gọi: MÔ PHỎNG (simulated) — không có cuộc gọi thật nào.

  Thanh tra viên / inspector:    thanhtra@demo.dongthap.gov.vn   mật khẩu: thanhtra-demo-2026
  Biên tập viên Sở Y tế / editor: soyte@demo.dongthap.gov.vn      mật khẩu: soyte-demo-2026

  Ctrl-C để dừng / to stop.
TXT
wait -n $scheduler $web
