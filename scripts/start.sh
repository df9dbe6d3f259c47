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
# Demo mode compresses the story (monitor/scheduling/demo.py): calls, retests, confirmations, an alert e-mail,
# a dispute and held calls all show within about 10 minutes (FLASK_DEMO_TIME_SCALE=2: within 5).
export FLASK_DEMO_MODE="${FLASK_DEMO_MODE:-true}"
# Alert e-mails go to a mail catcher on this machine (nothing leaves it), shown at /demo/mail to inspectors.
mail_port="${MAIL_PORT:-2525}"
export FLASK_SMTP_HOST="${FLASK_SMTP_HOST:-127.0.0.1}" FLASK_SMTP_PORT="${FLASK_SMTP_PORT:-$mail_port}"
export FLASK_INSPECTOR_EMAILS="${FLASK_INSPECTOR_EMAILS:-thanhtra@demo.dongthap.gov.vn}"
flask=.venv/bin/flask

$flask init-db
$flask registry demo

mail=""
if [ "$FLASK_SMTP_HOST" = 127.0.0.1 ] || [ "$FLASK_SMTP_HOST" = localhost ]; then  # not with a real relay
  $flask monitor mail-catcher &
  mail=$!
fi
$flask monitor run &
scheduler=$!
.venv/bin/gunicorn --config gunicorn.conf.py --workers 2 --threads 4 --bind "127.0.0.1:$port" --access-logfile - --log-level warning wsgi:app &
web=$!
trap 'kill $scheduler $web $mail 2>/dev/null; wait 2>/dev/null' INT TERM EXIT

calls="MÔ PHỎNG (simulated) — không có cuộc gọi thật nào."
if [ "$FLASK_CALL_PROVIDER" = sip ] && [ -z "${FLASK_SIP_TARGET:-}" ]; then  # the SIP demo (sipp/province.xml)
  calls="qua SIP tới tỉnh mô phỏng SIPp trên máy này (over SIP to a SIPp province on this machine) — không gọi ra ngoài."
fi
cat <<TXT

  Hệ thống đang chạy / running:  $FLASK_PUBLIC_BASE_URL/
  Cuộc gọi / calls: $calls
  Thư cảnh báo / alert e-mails:  $FLASK_PUBLIC_BASE_URL/demo/mail (hộp thư trình diễn, SMTP 127.0.0.1:$FLASK_SMTP_PORT)

  Thanh tra viên / inspector:    thanhtra@demo.dongthap.gov.vn   mật khẩu: thanhtra-demo-2026
  Biên tập viên Sở Y tế / editor: soyte@demo.dongthap.gov.vn      mật khẩu: soyte-demo-2026

  Cổng khác / another port:  PORT=8080 scripts/start.sh
  Ctrl-C để dừng / to stop.
TXT
wait -n $scheduler $web $mail
