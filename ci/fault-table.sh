#!/usr/bin/env bash
# Runs nsconform (and nsconform-static) under each injected fault of tests/tools/nsc_fault.cc
# and prints the table fault x pass/fail/skip/error, then every FAIL/ERROR with its reason and
# every PASS whose namespace type the fault denied (issue 8). Needs root; changes nothing on
# the host (each fault lives in the nsc-fault process and the namespaces it owns).
#
#   ci/fault-table.sh [-b BUILD_DIR] [-o OUT_DIR] [-s] [FAULT...]
#     -b  build directory (default: build)          -o  where reports go (default: a temp dir)
#     -s  also run nsconform-static                  FAULT  labels to run (default: all), e.g.
#         deny-pid-EPERM deny-all-ENOSYS runc-caps no-setfcap nspawn-caps ro-proc-sys
#         userns-setgroups-deny podman-hostname nspawn-handles
set -euo pipefail
cd "$(dirname "$0")/.."
build=build out="" static=0
while getopts "b:o:sh" opt; do
  case $opt in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    s) static=1 ;;
    *) sed -n '2,12p' "$0"; exit 64 ;;
  esac
done
shift $((OPTIND - 1))
[[ -n $out ]] || out=$(mktemp -d /tmp/nsc-fault-table.XXXXXX)
mkdir -p "$out"
fault_tool=$build/tests/nsc-fault
[[ -x $fault_tool ]] || { echo "fault-table: $fault_tool not built (ninja -C $build nsc-fault)" >&2; exit 64; }

# label => nsc-fault arguments
declare -A faults=()
order=()
add() { faults[$1]=$2; order+=("$1"); }
add clean ""
for e in EPERM ENOSPC EINVAL ENOSYS; do
  for t in user pid net ipc uts mnt cgroup time all; do add "deny-$t-$e" "--deny=$t --errno=$e"; done
done
add runc-caps "--runc-caps"
add no-setfcap "--drop-caps=setfcap"
add nspawn-caps "--drop-caps=net_admin,sys_time --deny-syscalls=open_by_handle_at"
add ro-proc-sys "--ro-proc-sys"
add userns-setgroups-deny "--userns"
add podman-hostname "--deny-syscalls=sethostname,setdomainname"
add nspawn-handles "--deny-syscalls=open_by_handle_at"
(($# == 0)) || order=(clean "$@")

binaries=(nsconform)
((static)) && binaries+=(nsconform-static)
for bin in "${binaries[@]}"; do
  for label in "${order[@]}"; do
    [[ -v faults[$label] ]] || { echo "fault-table: unknown fault '$label'" >&2; exit 64; }
    json=$out/$bin.$label.json
    # shellcheck disable=SC2086  # the fault's arguments are words
    "$fault_tool" ${faults[$label]} -- "$build/$bin" -q --no-default-reports \
      --no-error-on-fail --json "$json" >"$out/$bin.$label.log" 2>&1 || true
    [[ -s $json ]] || echo "fault-table: $bin under $label wrote no report (see $out/$bin.$label.log)" >&2
  done
done
python3 tests/tools/fault_table.py "$out" "${binaries[@]}" -- "${order[@]}"
echo "reports: $out"
