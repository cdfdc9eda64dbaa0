#!/usr/bin/env bash
# End to end: N signal packages of ~4 KiB uploaded back to back in one
# OpenSSH sftp batch; latency from upload close (uploads.received_ms, set
# when the upload committed) to verdict (uploads.processed_ms, committed
# with its receipt), median and p99. Usage: bench/e2e.sh [N] (default 1000);
# WORKERS=W runs serve with W intake workers instead of the default. Also
# reports how often a worker gave an upload back to retry it later.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
K=${KNOOPPUNT_BIN:-$PWD/build/knooppunt}
[ -x "$K" ] || scripts/build build
W=$(mktemp -d)
trap 'kill $(cat "$W/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT
D=$W/data
"$K" init --data "$D" >/dev/null
sed -i 's/^max_files_per_day = .*/max_files_per_day = 1000000/' "$D/knooppunt.conf"
if [ -n "${WORKERS:-}" ]; then sed -i "s/^workers = .*/workers = $WORKERS/" "$D/knooppunt.conf"; fi
ssh-keygen -q -t ed25519 -N '' -f "$W/u"
ssh-keygen -q -t ed25519 -N '' -f "$W/s"  # staff: one key, one account
minisign -G -W -p "$W/m.pub" -s "$W/m.key" >/dev/null
age-keygen -o "$W/staff.age" 2>/dev/null
"$K" municipality add GM0363 --name Amsterdam --data "$D" >/dev/null
"$K" person add bench --ssh-key "$W/u.pub" --sign-key "$W/m.pub" --data "$D" >/dev/null
"$K" mandate grant bench GM0363 --data "$D" >/dev/null
"$K" staff add staff --ssh-key "$W/s.pub" --recipient "$(age-keygen -y "$W/staff.age")" --sign-key "$W/m.pub" --data "$D" >/dev/null
head -c 4096 /dev/urandom | base64 -w 76 | head -c 4096 > "$W/rapport.txt"
cat > "$W/m.json" <<JSON
{"format": "knooppunt-signal/1", "kind": "signal", "municipality": "GM0363", "submitted_by": "bench",
 "created": "2026-11-22T10:00:00Z", "provider": {"kvk": "12345678", "name": "Zorg BV"}, "domain": "Wmo",
 "period": {"from": "2026-01-01", "until": "2026-06-30"}, "irregularity": "bench",
 "estimated_damage_eur": 1000, "clients_affected": 1, "health_risk": "low", "summary": "bench", "files": []}
JSON
REC=$("$K" keys show --json --data "$D" | sed 's/.*"intake_recipient":"\([^"]*\)".*/\1/')
# One package per upload: the same signed manifest twice is a duplicate-package.
for i in $(seq 1 "$N"); do
  sed "s/\"irregularity\": \"bench\"/\"irregularity\": \"bench $i\"/" "$W/m.json" > "$W/m$i.json"
  "$K" seal --to "$REC" --sign-key "$W/m.key" --manifest "$W/m$i.json" "$W/rapport.txt" -o "$W/pkg$i.age" >/dev/null
done
PORT=$((20000 + RANDOM % 20000))
"$K" serve --data "$D" --listen 127.0.0.1:$PORT --http "" 2>"$W/serve.log" & echo $! > "$W/pid"
for _ in $(seq 1 100); do grep -q serve.listening "$W/serve.log" && break; sleep 0.1; done
for i in $(seq 1 "$N"); do echo "put $W/pkg$i.age /inbox/p$i.age"; done > "$W/batch"
start=$(date +%s.%N)
"$K" keys show --known-hosts --listen 127.0.0.1:$PORT --data "$D" > "$W/known_hosts"
sftp -b "$W/batch" -i "$W/u" -P $PORT -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$W/known_hosts" \
  -o LogLevel=ERROR bench@GM0363@127.0.0.1 >/dev/null
for _ in $(seq 1 600); do
  left=$(sqlite3 "$D/knooppunt.db" "SELECT count(*) FROM uploads WHERE state NOT IN ('accepted','rejected')")
  [ "$left" = 0 ] && break; sleep 0.2
done
end=$(date +%s.%N)
sqlite3 "$D/knooppunt.db" "SELECT processed_ms - received_ms FROM uploads ORDER BY 1" > "$W/lat"
acc=$(sqlite3 "$D/knooppunt.db" "SELECT count(*) FROM uploads WHERE state='accepted'")
n=$(wc -l < "$W/lat")
med=$(sed -n "$(( (n + 1) / 2 ))p" "$W/lat")
p99=$(sed -n "$(( (n * 99 + 99) / 100 ))p" "$W/lat")
max=$(tail -1 "$W/lat")
retries=$(grep -c worker.retry_later "$W/serve.log" || true)
printf 'packages %s, accepted %s, wall %.1f s; upload close -> receipt: median %s ms, p99 %s ms, max %s ms; retries %s\n' \
  "$n" "$acc" "$(echo "$end - $start" | bc)" "$med" "$p99" "$max" "$retries"
