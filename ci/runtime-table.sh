#!/usr/bin/env bash
# Runs nsconform-static inside real container runtimes with their default settings (recipes in
# shared/guide/runtimes.md): bwrap --unshare-all --as-pid-1, and runc with `runc spec`'s
# default config (root: euid 0 with three capabilities, read-only /proc/sys, masked paths).
# Prints the same table as ci/fault-table.sh. Needs root; a missing runtime is left out.
#
#   ci/runtime-table.sh [-b BUILD_DIR] [-o OUT_DIR] [RUNTIME...]     (bwrap runc)
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD build=build out=""
while getopts "b:o:h" opt; do
  case $opt in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n '2,7p' "$0"; exit 64 ;;
  esac
done
shift $((OPTIND - 1))
runtimes=("$@")
((${#runtimes[@]})) || runtimes=(bwrap runc)
[[ -n $out ]] || out=$(mktemp -d /tmp/nsc-runtime-table.XXXXXX)
out=$(realpath "$out")
mkdir -p "$out"
static=$(realpath "$build/nsconform-static")
[[ -x $static ]] || { echo "runtime-table: $static not built" >&2; exit 64; }
args=(-q --no-default-reports --no-error-on-fail)
labels=()

run_bwrap() {
  command -v bwrap >/dev/null || { echo "runtime-table: no bwrap" >&2; return; }
  bwrap --ro-bind / / --proc /proc --dev /dev --bind "$out" "$out" --unshare-all --as-pid-1 \
    "$static" "${args[@]}" --json "$out/nsconform-static.bwrap.json" \
    >"$out/nsconform-static.bwrap.log" 2>&1 || true
  labels+=(bwrap)
}

run_runc() {
  command -v runc >/dev/null || { echo "runtime-table: no runc" >&2; return; }
  local bundle state id
  bundle=$(mktemp -d /tmp/nsc-runc.XXXXXX)
  state=$bundle/state
  id=nsc-$$
  mkdir -p "$bundle/rootfs"/{bin,proc,sys,dev,tmp,out} "$state"
  cp "$static" "$bundle/rootfs/bin/nsconform-static"
  (cd "$bundle" && runc spec)
  python3 - "$bundle/config.json" "$out" "${args[@]}" <<'PY'
import json, sys
path, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/nsconform-static", *args, "--json", "/out/nsconform-static.runc.json"]
c["mounts"].append({"destination": "/out", "type": "bind", "source": out, "options": ["rbind", "rw"]})
json.dump(c, open(path, "w"), indent=2)
PY
  (cd "$bundle" && runc --root "$state" run "$id") >"$out/nsconform-static.runc.log" 2>&1 || true
  runc --root "$state" delete -f "$id" >/dev/null 2>&1 || true
  rm -rf "$bundle"
  labels+=(runc)
}

for r in "${runtimes[@]}"; do
  case $r in
    bwrap) run_bwrap ;;
    runc) run_runc ;;
    *) echo "runtime-table: unknown runtime '$r'" >&2; exit 64 ;;
  esac
done
python3 "$src/tests/tools/fault_table.py" "$out" nsconform-static -- "${labels[@]}"
echo "reports: $out"
