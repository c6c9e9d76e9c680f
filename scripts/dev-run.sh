#!/usr/bin/env bash
# `make run`: migrate, load demo data once, then serve the portal on 127.0.0.1:5000 with a
# local SMTP server that prints every e-mail the portal sends to this terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_APP=wsgi.py PORTAL_ENV=${PORTAL_ENV:-development}
export MAIL_SERVER=${MAIL_SERVER:-127.0.0.1} MAIL_PORT=${MAIL_PORT:-1025}
BIN=.venv/bin

$BIN/flask db upgrade
$BIN/flask seed-demo --if-empty

smtp_pid=""
if [ "$MAIL_SERVER" = 127.0.0.1 ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$MAIL_PORT") 2>/dev/null; then
  # aiosmtpd's Debugging handler prints each message (links included) to stdout.
  $BIN/python -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Debugging &
  smtp_pid=$!
  echo "E-mail: a local SMTP server on 127.0.0.1:$MAIL_PORT prints messages here."
fi
cleanup() { [ -n "$smtp_pid" ] && kill "$smtp_pid" 2>/dev/null || true; }
trap cleanup EXIT INT TERM

echo "Serving the portal on http://127.0.0.1:5000 (Ctrl+C to stop)"
$BIN/flask run --host 127.0.0.1 --port 5000
