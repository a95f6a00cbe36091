# Sourced by bench/data-path, bench/stage-switch, bench/mismatch-storm and bench/idempotent-writes:
# the tools they need, a Turnout started and stopped on the embedded default with given JVM options,
# wrk runs, reads by key, its counters, and the stage and backfill set-up they share. The caller
# sets $work, the TURNOUT_* and QUARKUS_* ports and sources bench/keys.sh first.

# a failed command inside $(...) fails the substitution too, so a failed run stops the benchmark
# wherever its figures are taken with an assignment
shopt -s inherit_errexit

# Installs each tool from Debian's packages when running as root, or stops naming it.
need() { # script tool:package...
  local script=$1 tool; shift
  for tool in "$@"; do
    command -v "${tool%%:*}" >/dev/null && continue
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${tool#*:}" >/dev/null
    else
      echo "$script needs ${tool%%:*} (Debian: apt-get install ${tool#*:})" >&2; exit 1
    fi
  done
}

# Starts the packaged Turnout with these JVM options (log in $work/turnout.log, pid in $turnout)
# and waits until it is ready.
start_turnout() { # jvm-options
  # shellcheck disable=SC2086  # the options are several words
  java $1 -jar target/quarkus-app/quarkus-run.jar > "$work/turnout.log" 2>&1 &
  turnout=$!
  for _ in $(seq 1 120); do
    curl -fs "http://localhost:$QUARKUS_MANAGEMENT_PORT/q/health/ready" >/dev/null 2>&1 && return 0
    kill -0 $turnout 2>/dev/null || { cat "$work/turnout.log"; exit 1; }
    sleep 0.5
  done
  echo "Turnout was not ready within 60 s; see $work/turnout.log" >&2; exit 1
}

# One closed-loop wrk run of a script under bench/wrk against a local port, with its latency
# distribution; prints wrk's output, and appends it to $work/wrk.log under the label. A run with
# non-2xx answers or socket errors fails. Take its output with an assignment, out=$(wrk_run ...):
# that is what makes its failure stop the caller (a read fed by "<<< $(...)" or "< <(...)" goes on).
wrk_run() { # label port path authorization script connections seconds [threads]
  local out failed=0
  out=$(WRK_PATH=$3 WRK_AUTH=$4 wrk -t"${8:-2}" -c"$6" -d"$7s" --latency -s "bench/wrk/$5.lua" "http://localhost:$2" 2>&1) || failed=1
  echo "== $1" >> "$work/wrk.log"
  echo "$out" >> "$work/wrk.log"
  if [ $failed = 1 ] || echo "$out" | grep -qE "Non-2xx|Socket errors"; then echo "$1: errors, see $work/wrk.log" >&2; exit 1; fi
  echo "$out"
}

# Reads a wrk_run's output on stdin; prints its requests per second, p50 and p99 in milliseconds.
wrk_figures() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rate = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    END { printf "%.0f %.3f %.3f\n", rate, p50, p99 }'
}

# Reads by key of connections for that many seconds (wrk closed loop, 16 connections, random keys
# 1..10,000); prints the reads per second. A run with non-2xx answers or socket errors fails.
reads() { # seconds
  local out
  out=$(wrk_run "reads c16" "$QUARKUS_HTTP_PORT" /data/connections/ "Bearer $TURNOUT_BENCH_KEY" read 16 "$1")
  echo "$out" | awk '/Requests\/sec/ {printf "%.0f\n", $2}'
}

# Sum of one Prometheus counter's samples whose labels contain every given key="value".
counter() { # name label...
  local name=$1; shift
  curl -fs "http://localhost:$QUARKUS_MANAGEMENT_PORT/q/metrics" | awk -v n="$name" -v labels="$*" '
    index($0, n "{") == 1 { ok = 1; k = split(labels, l, " "); for (i = 1; i <= k; i++) if (index($0, l[i]) == 0) ok = 0; if (ok) s += $NF }
    END { printf "%.0f", s }'
}

# Stops the Turnout start_turnout started and waits until it has exited.
stop_turnout() {
  kill $turnout
  wait $turnout 2>/dev/null || true
  turnout=
}

# Puts connections and messages at a stage for the benchmark: the flag file names it, then the
# stage is recorded as applied in the control table (what stage control does once a step's gates
# pass; the benchmark skips the gates), and the data API must show it.
stage() { # stage
  local s=$1 feature features=""
  for d in connections messages; do
    feature='{"name":"turnout.'$d'.stage","enabled":true,"strategies":[{"name":"default","parameters":{},"variants":[{"name":"'$s'","weight":1000,"weightType":"variable","stickiness":"default"}]}],"variants":[]}'
    features="$features${features:+,}$feature"
  done
  printf '{"version":2,"features":[%s]}' "$features" > "$TURNOUT_FLAGS_FILE.tmp" && mv "$TURNOUT_FLAGS_FILE.tmp" "$TURNOUT_FLAGS_FILE"
  for d in connections messages; do
    for _ in $(seq 1 200); do
      curl -fs "${auth[@]}" "http://localhost:$QUARKUS_HTTP_PORT/admin/migrations/$d" | grep -q "\"desired\":\"$s\"" && break
      sleep 0.05
    done
    psql -qAt -h localhost -p "$TURNOUT_EMBEDDED_PORT" -U postgres -d main -v d="$d" -v s="$s" >/dev/null <<'SQL'
UPDATE turnout_stage SET applied = :'s', desired = :'s', changed_at = clock_timestamp(),
  mirrored_since = CASE WHEN :'s' IN ('dual_write', 'shadow', 'live', 'rampdown') THEN clock_timestamp() END WHERE domain = :'d';
SQL
  done
  for _ in $(seq 1 600); do
    local cat; cat=$(curl -fs "${auth[@]}" "http://localhost:$QUARKUS_HTTP_PORT/data")
    echo "$cat" | grep -q "\"name\":\"connections\",\"key\":\"[^\"]*\",\"stage\":\"$s\"" \
      && echo "$cat" | grep -q "\"name\":\"messages\",\"key\":\"[^\"]*\",\"stage\":\"$s\"" && return 0
    sleep 0.05
  done
  echo "Turnout did not apply stage $s; see $work/turnout.log" >&2; exit 1
}

# Copies a domain's legacy rows into its new store (Turnout's backfill), for reads at shadow and live.
backfill() { # domain
  curl -fs "${auth[@]}" -H 'Content-Type: application/json' -d '{"chunkSize":10000}' \
    "http://localhost:$QUARKUS_HTTP_PORT/admin/migrations/$1/backfill" >/dev/null
  for _ in $(seq 1 600); do
    curl -fs "${auth[@]}" "http://localhost:$QUARKUS_HTTP_PORT/admin/migrations/$1/backfill" | grep -q '"state":"done"' && return 0
    sleep 0.1
  done
  echo "the backfill of $1 did not finish; see $work/turnout.log" >&2; exit 1
}
