#!/bin/sh
# Builds a knooppunt signal package with stock tools only: tar, sha256sum,
# minisign and age (plus the shell and coreutils). See docs/formats.md.
#
#   make-package.sh -r AGE_RECIPIENT -s MINISIGN_SECRET_KEY -m GM0363 -u j.jansen -o signal.age FILE...
#
# The signal's fields come from the environment (the defaults are the
# example of docs/formats.md; set your own):
#   KVK AGB PROVIDER DOMAIN PERIOD_FROM PERIOD_UNTIL IRREGULARITY DAMAGE_EUR
#   CLIENTS HEALTH_RISK SUMMARY KIND IN_REPLY_TO
# Every FILE goes below files/ under its own base name; its type must be
# one of the accepted ones (.pdf .txt .csv .json .xml .jpg .jpeg .png .tif
# .tiff .docx .xlsx .odt .ods .eml .msg). A password-protected minisign key
# asks for its password. Upload the result to /inbox over SFTP.
set -eu

usage() {
  echo "usage: $0 -r AGE_RECIPIENT -s MINISIGN_SECRET_KEY -m GMxxxx -u ACCOUNT -o OUT.age FILE..." >&2
  exit 2
}

recipient= key= municipality= account= out=
while getopts r:s:m:u:o: opt; do
  case $opt in
    r) recipient=$OPTARG ;;
    s) key=$OPTARG ;;
    m) municipality=$OPTARG ;;
    u) account=$OPTARG ;;
    o) out=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ -n "$recipient" ] && [ -n "$key" ] && [ -n "$municipality" ] && [ -n "$account" ] && [ -n "$out" ] || usage

# A JSON string: backslash and double quote escaped, one line.
json() {
  printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/files"

# The file list: name, size and SHA-256 of every file, as the tar will hold it.
files_json=
for f in "$@"; do
  name=files/$(basename "$f")
  cp "$f" "$work/$name"
  size=$(wc -c < "$work/$name" | tr -d ' ')
  sha=$(sha256sum "$work/$name" | cut -d' ' -f1)
  entry="{\"name\": $(json "$name"), \"size\": $size, \"sha256\": \"$sha\"}"
  files_json=${files_json:+$files_json, }$entry
done

reply=
if [ "${KIND:-signal}" = enrichment-response ]; then
  reply="\"in_reply_to\": $(json "${IN_REPLY_TO:?IN_REPLY_TO is required for an enrichment response}"),"
fi

cat > "$work/manifest.json" <<EOF
{
  "format": "knooppunt-signal/1",
  "kind": $(json "${KIND:-signal}"),
  "municipality": $(json "$municipality"),
  "submitted_by": $(json "$account"),
  "created": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "provider": {"kvk": $(json "${KVK:-12345678}"), "agb": $(json "${AGB:-01234567}"), "name": $(json "${PROVIDER:-Zorg BV}")},
  "domain": $(json "${DOMAIN:-Wmo}"),
  "period": {"from": $(json "${PERIOD_FROM:-2026-01-01}"), "until": $(json "${PERIOD_UNTIL:-2026-06-30}")},
  "irregularity": $(json "${IRREGULARITY:-care billed but not delivered}"),
  "estimated_damage_eur": ${DAMAGE_EUR:-125000},
  "clients_affected": ${CLIENTS:-14},
  "health_risk": $(json "${HEALTH_RISK:-high}"),
  "summary": $(json "${SUMMARY:-Invoices for home care in weeks without any visit in the care plan.}"),
  $reply
  "files": [$files_json]
}
EOF

# Sign the manifest's exact bytes with the key registered for ACCOUNT.
minisign -S -s "$key" -m "$work/manifest.json" -t "knooppunt manifest" >/dev/null

# tar from inside the package folder (relative names), then seal to the
# gateway's intake recipient.
(cd "$work" && tar cf - manifest.json manifest.json.minisig files) | age -r "$recipient" -o "$out"
echo "$out: $(ls "$work/files" | wc -l) file(s), sealed to $recipient"
