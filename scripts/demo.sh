#!/usr/bin/env bash
# Build a synthetic operator, load it and show what Tenure made of it.
set -euo pipefail
HOME_DIR=${1:-demo-data}
SUBSCRIBERS=${2:-20000}
MONTHS=${3:-12}
BIN=.venv/bin
export TENURE_HOME="$HOME_DIR"

echo "== generating a synthetic operator: $SUBSCRIBERS subscribers x $MONTHS months"
$BIN/tenure synth --subscribers "$SUBSCRIBERS" --months "$MONTHS" --seed 1 --dirty 0.002 --out "$HOME_DIR/source"
echo "== loading it into the warehouse at $HOME_DIR"
$BIN/tenure load "$HOME_DIR/source" || { echo "load refused (see above)"; exit 1; }
echo
echo "Demo data loaded into $HOME_DIR."
