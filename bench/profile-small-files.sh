#!/usr/bin/env bash
# Many small files under a profiler: a fresh data dir on tmpfs, `knooppunt
# serve` started under the given wrapper command, one OpenSSH `sftp -b`
# session putting N files of 16 KiB (aes128-gcm) per round, then serve is
# stopped with SIGINT so the profiler writes its output. Examples:
#   bench/profile-small-files.sh 500 valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p
#   bench/profile-small-files.sh 1000 perf record -g -o /tmp/perf.data
#   ROUNDS="1 2" bench/profile-small-files.sh 1000      # no wrapper: wall time per round
# KNOOPPUNT_BIN picks the binary (default build/knooppunt).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:?usage: bench/profile-small-files.sh N [wrapper command...]}
shift
K=${KNOOPPUNT_BIN:-$PWD/build/knooppunt}
W=$(mktemp -d /dev/shm/kp-profile.XXXXXX)
SP=
trap '[ -n "$SP" ] && kill -INT "$SP" 2>/dev/null; rm -rf "$W"' EXIT
D=$W/data
"$K" init --data "$D" >/dev/null
sed -i 's/^max_files_per_day = .*/max_files_per_day = 1000000/' "$D/knooppunt.conf"
sed -i 's/^workers = .*/workers = 0/' "$D/knooppunt.conf"
ssh-keygen -q -t ed25519 -N '' -f "$W/u"
minisign -G -W -p "$W/m.pub" -s "$W/m.key" >/dev/null
"$K" municipality add GM0363 --name Amsterdam --data "$D" >/dev/null
"$K" person add bench --ssh-key "$W/u.pub" --sign-key "$W/m.pub" --data "$D" >/dev/null
"$K" mandate grant bench GM0363 --data "$D" >/dev/null
head -c 16384 /dev/urandom > "$W/f"
PORT=$((20000 + RANDOM % 20000))
"$@" "$K" serve --data "$D" --listen 127.0.0.1:$PORT --http "" 2>"$W/serve.log" & SP=$!
for _ in $(seq 1 300); do grep -q serve.listening "$W/serve.log" && break; sleep 0.1; done
"$K" keys show --known-hosts --listen 127.0.0.1:$PORT --data "$D" > "$W/known_hosts"
for r in ${ROUNDS:-1}; do
  for i in $(seq 1 "$N"); do echo "put $W/f /inbox/f$r-$i.bin"; done > "$W/batch"
  s=$(date +%s.%N)
  sftp -b "$W/batch" -i "$W/u" -P $PORT -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$W/known_hosts" \
    -o LogLevel=ERROR -o Ciphers=aes128-gcm@openssh.com bench@GM0363@127.0.0.1 >/dev/null
  e=$(date +%s.%N)
  echo "round $r: $N files in $(echo "$e - $s" | bc) s"
done
sleep 1
kill -INT "$SP"
wait "$SP" || true
SP=
