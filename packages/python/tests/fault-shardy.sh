#!/usr/bin/env bash
# Test stand-in for `shardy`: runs the real executable ($SHARDY_TEST_REAL_BIN), except when
# $SHARDY_TEST_FAULT_DIR/kill.plan ("<db_id> <max_kills>") names a shard being written (--db-id n,
# or one of --db-ids a,b,...): then it reads the start of the Arrow stream and SIGKILLs its parent,
# the engine worker (a worker dying mid-write), at most <max_kills> times. `write-server` runs
# through fault_server.py, which does the same per request.
set -u
real="${SHARDY_TEST_REAL_BIN:?SHARDY_TEST_REAL_BIN must name the real shardy executable}"
dir="${SHARDY_TEST_FAULT_DIR:-}"
if [[ " $* " == *" write-server "* ]]; then
  # A warm server takes many writes: its stand-in checks the plan per request.
  exec "${SHARDY_TEST_PYTHON:?SHARDY_TEST_PYTHON must name the test Python}" "$(dirname "$0")/fault_server.py" "$@"
fi
if [ -n "$dir" ] && [ -f "$dir/kill.plan" ] && [[ " $* " == *" write-shard "* ]]; then
  read -r db max <"$dir/kill.plan"
  ids=""
  prev=""
  for arg in "$@"; do
    if [ "$prev" = "--db-id" ] || [ "$prev" = "--db-ids" ]; then ids="$arg"; fi
    prev="$arg"
  done
  if [[ ",$ids," == *",$db,"* ]]; then
    killed=$(find "$dir" -maxdepth 1 -name 'killed.*' | wc -l)
    if [ "$killed" -lt "$max" ]; then
      touch "$dir/killed.$$"
      head -c 64 >/dev/null
      kill -9 "$PPID"
      exit 137
    fi
  fi
fi
exec "$real" "$@"
