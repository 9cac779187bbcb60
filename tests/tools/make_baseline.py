#!/usr/bin/env python3
"""Writes tests/data/baseline.json: this host's expected verdict of every rule in each setting
real_rules_test runs (root, control, unpriv, userns), as "pass", "fail", "error" or
"skip:<REASON_CODE>". real_rules_test's MatchesBaseline fails on any difference, so a rule that
newly skips (a lying environment probe, a body that always skips) cannot go unnoticed.

Usage: make_baseline.py ROOT.json CONTROL.json UNPRIV.json USERNS.json > tests/data/baseline.json
  ROOT.json     nsconform --json ROOT.json                     (as root)
  CONTROL.json  nsconform --control --json CONTROL.json        (as root)
  UNPRIV.json   setpriv --reuid=65534 --regid=65534 --clear-groups -- nsconform --json UNPRIV.json
  USERNS.json   nsconform --userns --json USERNS.json          (as root)
Review the diff before committing: every changed line is a changed verdict on this host.
"""
import json
import sys


def verdicts(path):
    out = {}
    for r in json.load(open(path))["results"]:
        v = r["status"]
        if v == "skip":
            v += ":" + r.get("reason_code", "")
        out[r["id"]] = v
    return dict(sorted(out.items()))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    settings = ["root", "control", "unpriv", "userns"]
    baseline = {name: verdicts(path) for name, path in zip(settings, sys.argv[1:])}
    json.dump(baseline, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
