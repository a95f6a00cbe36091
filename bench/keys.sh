# Sourced by the benchmark scripts: one API key with every role and every domain's grants,
# configured by its hash as in production, sent by curl ("${auth[@]}") and by the Java clients
# (TURNOUT_BENCH_KEY). /q/* is on the management port.
TURNOUT_BENCH_KEY="trn_bench_$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
export TURNOUT_BENCH_KEY
export TURNOUT_AUTH_KEYS_BENCH_HASH="sha256:$(printf %s "$TURNOUT_BENCH_KEY" | sha256sum | cut -d' ' -f1)"
export TURNOUT_AUTH_KEYS_BENCH_ROLES=operator,release-manager,approver
export TURNOUT_AUTH_KEYS_BENCH_DOMAINS='*:read,*:write'
auth=(-H "Authorization: Bearer $TURNOUT_BENCH_KEY")
