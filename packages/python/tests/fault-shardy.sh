#!/usr/bin/env bash
# Test stand-in for `shardy`: runs the real executable ($SHARDY_TEST_REAL_BIN), except when
# $SHARDY_TEST_FAULT_DIR/kill.plan ("<db_id> <max_kills>") names the shard being written: then it
# reads the start of the Arrow stream and SIGKILLs its parent, the engine worker (a worker dying
# mid-write), at most <max_kills> times.
set -u
real="${SHARDY_TEST_REAL_BIN:?SHARDY_TEST_REAL_BIN must name the real shardy executable}"
dir="${SHARDY_TEST_FAULT_DIR:-}"
if [ -n "$dir" ] && [ -f "$dir/kill.plan" ] && [[ " $* " == *" write-shard "* ]]; then
  read -r db max <"$dir/kill.plan"
  if [[ " $* " == *" --db-id $db "* ]]; then
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
