#!/usr/bin/env python3
"""Planted faults that the project's own tests must catch (issue: "tests that catch a broken
suite"). Each mutation edits one file of a copy of the source tree; run_mutations.sh builds the
copy and runs real_rules_test on the rules the fault touches, and expects it to FAIL.

A mutation whose pattern no longer matches fails the whole test loudly: update it with the code.
"""
import re
import sys

# name -> (file, regex, replacement, rule IDs whose tests must catch it, what the fault is)
MUTATIONS = {
    "body_always_skips": (
        "cases/pid/init_process.cc",
        r"(void InitIsPid1\(const Probe& p\) \{)",
        r'\1\n  p.Skip(ReasonCode::kPreconditionUnmet, "mutant: the body always skips");',
        ["pid.init_is_pid1"],
        "the body of pid.init_is_pid1 skips before observing anything",
    ),
    "control_records_expected_value": (
        "cases/pid/init_process.cc",
        r'p\.Value\("child\.getpid", RawGetpid\(\)\);',
        r'p.Value("child.getpid", p.control() ? 1 : RawGetpid());',
        ["pid.init_is_pid1"],
        "the control of pid.init_is_pid1 records the value the rule expects",
    ),
    "assertion_demoted_to_record": (
        "cases/pid/init_process.cc",
        r'Expect\("init\.getppid", Eq\(0\)\)',
        r'Record("init.getppid")',
        ["pid.getppid_zero_for_init"],
        "pid.getppid_zero_for_init's verdict key becomes a mere record",
    ),
    "all_expectations_demoted": (
        "cases/pid/init_process.cc",
        r'\.expect = \{Expect\("child\.getpid", Eq\(1\)\), ExpectCall\("parent\.clone", SucceedsWith\(Gt\(1\)\)\)\}',
        r'.expect = {Record("child.getpid"), Record("parent.clone")}',
        ["pid.init_is_pid1"],
        "every expectation of pid.init_is_pid1 becomes a record: it turns into an observation",
    ),
    "requires_cap_assertion_demoted": (
        "cases/common/requires_cap_sys_admin.h",
        r'ExpectCall\("unshare", FailsWith\(EPERM\)\)',
        r'Record("unshare")',
        ["uts.requires_cap_sys_admin"],
        "the EPERM assertion of the shared <type>.requires_cap_sys_admin flow becomes a record",
    ),
    "userns_probe_lies": (
        "harness/environment.cc",
        r"env\.userns_available = true;",
        r"env.userns_available = false;",
        ["uts.hostname_isolated", "pid.init_is_pid1"],
        "the environment probe says user namespaces are unavailable",
    ),
}


def apply(name, root):
    path, pattern, replacement, _, _ = MUTATIONS[name]
    full = f"{root}/{path}"
    text = open(full).read()
    mutated, n = re.subn(pattern, replacement, text, count=1)
    if n != 1:
        sys.exit(f"mutation {name}: pattern no longer matches {path}; update tests/mutation/mutations.py")
    open(full, "w").write(mutated)


if __name__ == "__main__":
    if sys.argv[1] == "list":
        for name, (path, _, _, rules, what) in MUTATIONS.items():
            print(name, path, ",".join(rules), sep="\t")
    elif sys.argv[1] == "describe":
        print(MUTATIONS[sys.argv[2]][4])
    elif sys.argv[1] == "apply":
        apply(sys.argv[2], sys.argv[3])
