#!/bin/sh
# `portcullis run --requests --summary` and `--shadow` over a 1,000,000-line
# request file with a 1,000-rule set: requests per second and peak memory
# (GNU time), beside the cost of only reading the file. Run from the
# package folder: sh benches/stream.sh [lines]
set -eu
lines=${1:-1000000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet
bin=target/release/portcullis
python3 - "$dir" "$lines" <<'PY'
import json, random, sys
d, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
rules = []
for k in range(1000):
    m = random.randrange(2000)
    shape = k % 5
    if shape == 0: e = f'http.host eq "h{m}.example.com"'
    elif shape == 1: e = f'starts_with(http.request.uri.path, "/api/v{m % 9}/item{m}")'
    elif shape == 2: e = f'ip.src in {{10.{m % 256}.0.0/16}} and http.request.method eq "POST"'
    elif shape == 3: e = f'http.user_agent contains "scanner{m}"'
    else: e = f'any(http.request.headers.names[*] eq "X-Probe-{m}")'
    rules.append({"id": f"r{k}", "expression": e, "action": "log" if k % 3 else "block"})
json.dump({"rules": rules}, open(f"{d}/rules.json", "w"))
cand = [dict(r) for r in rules]
for r in cand[:100]: r["action"] = "log"
json.dump({"rules": cand}, open(f"{d}/candidate.json", "w"))
with open(f"{d}/requests.jsonl", "w") as f:
    for i in range(n):
        m = random.randrange(2000)
        f.write(json.dumps({
            "method": "POST" if i % 3 == 0 else "GET",
            "uri": f"/api/v{m % 9}/item{m}?q={i}",
            "headers": {"Host": f"h{m}.example.com", "User-Agent": "scanner%d" % m if i % 8 == 0 else "Mozilla/5.0"},
            "client_ip": f"10.{m % 256}.{i % 256}.7",
        }) + "\n")
PY
measure() {
  label=$1; shift
  /usr/bin/time -f "%e %M" -o "$dir/time" "$@" > /dev/null
  set -- $(cat "$dir/time")
  echo "$label seconds=$1 requests_per_s=$(python3 -c "print(round($lines/max($1,0.001)))") peak_kib=$2"
}
measure read_only_wc_l sh -c "wc -l < '$dir/requests.jsonl'"
measure summary        "$bin" run --rules "$dir/rules.json" --requests "$dir/requests.jsonl" --summary
measure summary_shadow "$bin" run --rules "$dir/rules.json" --requests "$dir/requests.jsonl" --summary --shadow "$dir/candidate.json"
