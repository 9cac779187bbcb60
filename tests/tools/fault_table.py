#!/usr/bin/env python3
"""Summarises ci/fault-table.sh runs: fault x pass/fail/skip/error, skip reasons by count,
every FAIL/ERROR with its reason, and every PASS whose namespace type the fault denied.

usage: fault_table.py OUT_DIR BINARY... -- LABEL...   (reads OUT_DIR/BINARY.LABEL.json)
"""
import json
import os
import sys

NS_OF_LABEL = {"user", "pid", "net", "ipc", "uts", "mnt", "cgroup", "time"}


def denied_types(label):
    """Namespace types a deny-TYPE-ERRNO fault refuses to create."""
    if not label.startswith("deny-"):
        return set()
    t = label.split("-")[1]
    return set(NS_OF_LABEL) if t == "all" else {t}


def main(argv):
    sep = argv.index("--")
    out, binaries, labels = argv[1], argv[2:sep], argv[sep + 1:]
    for binary in binaries:
        reports = {}
        for label in labels:
            path = os.path.join(out, f"{binary}.{label}.json")
            try:
                with open(path) as f:
                    reports[label] = json.load(f)
            except (OSError, ValueError) as e:
                print(f"{binary} {label}: no report ({e})")
        print(f"\n## {binary}\n")
        print("| fault | pass | fail | skip | error | skip reasons |")
        print("| --- | ---: | ---: | ---: | ---: | --- |")
        for label, r in reports.items():
            s = r["summary"]
            reasons = {}
            for res in r["results"]:
                if res["status"] == "skip":
                    code = res.get("reason_code", "?")
                    reasons[code] = reasons.get(code, 0) + 1
            why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1]))
            print(f"| {label} | {s['pass']} | {s['fail']} | {s['skip']} | {s['error']} | {why} |")
        print()
        for label, r in reports.items():
            bad = [x for x in r["results"] if x["status"] in ("fail", "error")]
            denied = denied_types(label)
            suspicious = [x for x in r["results"] if x["status"] == "pass" and denied and
                          denied & set(x.get("requires", {}).get("namespaces", []))]
            if not bad and not suspicious:
                continue
            print(f"### {binary} under {label}")
            for x in bad:
                reason = " ".join(str(x.get("reason", "")).split())[:300]
                print(f"- {x['status'].upper()} {x['id']} [{x.get('reason_code', '')}] {reason}")
            for x in suspicious:
                print(f"- PASS-UNDER-DENIAL {x['id']} (needs {','.join(x['requires']['namespaces'])})")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
