#!/usr/bin/env bash
# make demo: build a synthetic operator, load it, run the monthly cycle for the
# last three months, create the first users, plan the example campaigns and
# start the web app.
set -euo pipefail
HOME_DIR=${1:-demo-data}
SUBSCRIBERS=${2:-20000}
MONTHS=${3:-12}
HOST=${4:-127.0.0.1}
PORT=${5:-8000}
END=${DEMO_END:-2026-10}
BIN=.venv/bin
export TENURE_HOME="$HOME_DIR"
mkdir -p "$HOME_DIR"

if [ ! -f "$HOME_DIR/.loaded-$SUBSCRIBERS-$MONTHS" ]; then
  echo "== 1/4 generating a synthetic operator: $SUBSCRIBERS subscribers x $MONTHS months (ending $END)"
  $BIN/tenure synth --subscribers "$SUBSCRIBERS" --months "$MONTHS" --end "$END" --seed 1 --dirty 0.002 --out "$HOME_DIR/source"
  echo "== 2/4 loading it into the warehouse (bad rows go to $HOME_DIR/quarantine)"
  $BIN/tenure load "$HOME_DIR/source"
  touch "$HOME_DIR/.loaded-$SUBSCRIBERS-$MONTHS"
else
  echo "== 1-2/4 synthetic operator already loaded in $HOME_DIR (make clean to start over)"
fi

echo "== 3/4 running the monthly cycle for the last three months"
for m in $($BIN/python -c "from tenure.domain.model import month_add; print(' '.join(month_add('$END', k) for k in (-2, -1, 0)))"); do
  $BIN/tenure run-month "$m" > "$HOME_DIR/run-$m.txt"
  echo "   $m done (summary in $HOME_DIR/run-$m.txt)"
done
tail -n 40 "$HOME_DIR/run-$END.txt"

echo "== 4/4 users and the web app"
PASSWORD_FILE="$HOME_DIR/admin-password.txt"
if [ ! -f "$PASSWORD_FILE" ]; then
  $BIN/python -c "import secrets; print(secrets.token_urlsafe(12))" > "$PASSWORD_FILE"
  $BIN/tenure user add admin --role administrator --password-file "$PASSWORD_FILE" --display-name "Administrator" > /dev/null
  # A demo account manager with a small portfolio, to show what that role sees.
  $BIN/tenure user add manager --role account_manager --password-file "$PASSWORD_FILE" --display-name "客户经理 Demo" > /dev/null
  $BIN/python - "$HOME_DIR" <<'PY' > "$HOME_DIR/manager-customers.txt"
import sys
import duckdb
from tenure.engines.warehouse import Warehouse
wh = Warehouse(sys.argv[1] + "/warehouse")
path = wh.path("subscribers", wh.months()[-1])
rows = duckdb.sql(
    f"select distinct customer_id from read_parquet('{path}') where status = 'active' order by customer_id limit 40"
).fetchall()
print("\n".join(r[0] for r in rows))
PY
  $BIN/tenure assign manager --customers-file "$HOME_DIR/manager-customers.txt" > /dev/null
  # A retention manager approves the example campaigns (an administrator may not).
  $BIN/tenure user add rm --role retention_manager --password-file "$PASSWORD_FILE" --display-name "维系经理 Demo" > /dev/null
  $BIN/tenure campaign import src/tenure/campaigns/examples/*.yaml --as rm > /dev/null
  for c in $($BIN/tenure campaign list --json | $BIN/python -c "import json,sys; print(' '.join(c['campaign_id'] for c in json.load(sys.stdin) if c['status'] == 'draft'))"); do
    $BIN/tenure campaign submit "$c" --as rm > /dev/null
    $BIN/tenure campaign approve "$c" --as rm > /dev/null
    $BIN/tenure campaign start "$c" --as rm > /dev/null
  done
  echo "== planning $END: the running campaigns decide one action per customer"
  $BIN/tenure plan-month "$END" --as rm | tail -n 25
fi

cat <<MSG

Tenure is starting at http://$HOST:$PORT/
  sign in as:  admin    password: $(cat "$PASSWORD_FILE")   (administrator)
          or:  manager  password: $(cat "$PASSWORD_FILE")   (account manager, 40 customers)
          or:  rm       password: $(cat "$PASSWORD_FILE")   (retention manager: campaigns, weekly report)
  data:        $HOME_DIR    stop with Ctrl-C
MSG
exec $BIN/tenure serve --host "$HOST" --port "$PORT"
