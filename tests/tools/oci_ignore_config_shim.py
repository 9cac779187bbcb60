#!/usr/bin/python3
"""An OCI runtime that ignores part of its configuration: a test double for `nsconform runtime`.

Used as `nsconform runtime runc --runtime-path oci_ignore_config_shim.py`. It passes every
command on to the real runtime (NSC_SHIM_RUNTIME, default runc), but for `run`/`create` it
hands over a copy of the bundle whose config.json lacks the namespace types listed in
NSC_SHIM_DROP_NS (OCI names, comma-separated: pid,network,ipc,uts,mount,user,cgroup,time),
with what depends on them (hostname/domainname for uts, the id mappings for user, timeOffsets
for time, the sysctls of ipc/network). The checker reads the original config.json, so every
runtime.ns.* rule of a dropped type must FAIL: the shim is the runtime that ignores its config.
"""
import json
import os
import shutil
import sys

IPC_SYSCTL_PREFIXES = ("kernel.msg", "kernel.sem", "kernel.shm", "fs.mqueue.")


def find_runtime(name):
    if os.path.isabs(name):
        return name
    dirs = os.environ.get("PATH", "").split(":") + ["/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
    for d in dirs:
        candidate = os.path.join(d, name)
        if d and os.access(candidate, os.X_OK):
            return candidate
    sys.exit("oci_ignore_config_shim: %s not found" % name)


def drop_namespaces(config, drop):
    linux = config.setdefault("linux", {})
    linux["namespaces"] = [n for n in linux.get("namespaces", []) if n.get("type") not in drop]
    if "uts" in drop:
        config.pop("hostname", None)
        config.pop("domainname", None)
    if "user" in drop:
        linux.pop("uidMappings", None)
        linux.pop("gidMappings", None)
    if "time" in drop:
        linux.pop("timeOffsets", None)
    sysctl = linux.get("sysctl", {})
    for key in list(sysctl):
        if ("ipc" in drop and key.startswith(IPC_SYSCTL_PREFIXES)) or ("network" in drop and key.startswith("net.")):
            del sysctl[key]


def main(argv):
    real = find_runtime(os.environ.get("NSC_SHIM_RUNTIME", "runc"))
    drop = {t for t in os.environ.get("NSC_SHIM_DROP_NS", "").split(",") if t}
    args = list(argv)
    if drop and ("run" in args or "create" in args) and "--bundle" in args:
        i = args.index("--bundle")
        bundle = args[i + 1]
        with open(os.path.join(bundle, "config.json")) as f:
            config = json.load(f)
        drop_namespaces(config, drop)
        shim_bundle = bundle.rstrip("/") + ".shim"
        os.makedirs(shim_bundle, exist_ok=True)
        with open(os.path.join(shim_bundle, "config.json"), "w") as f:
            json.dump(config, f)
        args[i + 1] = shim_bundle
    os.execv(real, [real] + args)


if __name__ == "__main__":
    main(sys.argv[1:])
