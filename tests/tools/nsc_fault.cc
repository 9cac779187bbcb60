// nsc-fault: runs a command in a deliberately hostile environment, the way container runtimes
// and sandboxes make one, so that the suite's verdicts can be checked there (issue 8):
//
//   --deny=FLAGS        a seccomp filter refuses clone(2), unshare(2) and setns(2) whenever the
//                       CLONE_NEW* flags argument contains one of FLAGS (pid,net,ipc,uts,mnt,
//                       cgroup,time,user or all); clone3(2) is refused with ENOSYS altogether
//                       (its flags live in memory where a filter cannot see them), so callers
//                       fall back to clone(2), as under real container profiles
//   --errno=E           the errno of those refusals: EPERM (default), ENOSPC, EINVAL, ENOSYS
//   --setns-zero        also refuse setns(fd, 0), whose namespace type a filter cannot see
//   --deny-syscalls=L   also refuse these whole syscalls with the errno (sethostname,
//                       setdomainname, open_by_handle_at, name_to_handle_at, mount, umount2,
//                       pivot_root, setns, unshare, keyctl, bpf, reboot)
//   --runc-caps         keep euid 0 but only runc's default capabilities (CAP_AUDIT_WRITE,
//                       CAP_KILL, CAP_NET_BIND_SERVICE): bounding, permitted, effective,
//                       inheritable and ambient sets, and no_new_privs, as `runc spec` sets
//   --drop-caps=L       drop these capabilities (e.g. setfcap,net_admin,sys_time) from every
//                       set, bounding included, keeping euid 0 (what nspawn or docker do)
//   --ro-proc-sys       /proc/sys read-only (a read-only bind mount in a private mount
//                       namespace; the host's /proc/sys is untouched)
//   --userns            run in a new user namespace, root mapped to the caller, setgroups=deny
//
// Order: user namespace, mount namespace, capabilities, seccomp filter, exec. The host is never
// changed: every change is to this process (and what it execs) or to namespaces it owns.
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

#if defined(__x86_64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr uint32_t kAuditArch = AUDIT_ARCH_AARCH64;
#else
#error "nsc-fault: add the AUDIT_ARCH of this architecture"
#endif

constexpr int kUsageExit = 64;

struct NsFlag {
  const char* name;
  unsigned long flag;
};
constexpr NsFlag kNsFlags[] = {
    {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"mnt", CLONE_NEWNS},
    {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID}, {"time", CLONE_NEWTIME},
    {"user", CLONE_NEWUSER},     {"uts", CLONE_NEWUTS},
};

struct Errno {
  const char* name;
  int value;
};
constexpr Errno kErrnos[] = {{"EPERM", EPERM}, {"ENOSPC", ENOSPC}, {"EINVAL", EINVAL},
                             {"ENOSYS", ENOSYS}, {"EACCES", EACCES}};

struct Syscall {
  const char* name;
  long nr;
};
constexpr Syscall kSyscalls[] = {
    {"sethostname", SYS_sethostname},
    {"setdomainname", SYS_setdomainname},
    {"open_by_handle_at", SYS_open_by_handle_at},
    {"name_to_handle_at", SYS_name_to_handle_at},
    {"mount", SYS_mount},
    {"umount2", SYS_umount2},
    {"pivot_root", SYS_pivot_root},
    {"setns", SYS_setns},
    {"unshare", SYS_unshare},
    {"keyctl", SYS_keyctl},
    {"bpf", SYS_bpf},
    {"reboot", SYS_reboot},
};

// Capability names by number (linux/capability.h), lower case without CAP_.
constexpr const char* kCapNames[] = {
    "chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid",
    "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw",
    "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
    "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod",
    "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog",
    "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
};

struct Options {
  unsigned long deny_flags = 0;
  int err = EPERM;
  bool setns_zero = false;
  std::vector<long> deny_syscalls;
  bool runc_caps = false;
  uint64_t drop_caps = 0;
  bool ro_proc_sys = false;
  bool userns = false;
  char** command = nullptr;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr, "nsc-fault: %s (try --help)\n", why.c_str());
  std::exit(kUsageExit);
}

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "nsc-fault: %s: %s\n", what, std::strerror(errno));
  std::exit(125);
}

void Help() {
  std::puts(
      "usage: nsc-fault [OPTIONS] -- COMMAND [ARGS...]\n"
      "Runs COMMAND in a hostile environment made of the faults chosen below.\n"
      "  --deny=FLAGS       seccomp: refuse clone/unshare/setns with any of these CLONE_NEW*\n"
      "                     types (comma list of cgroup,ipc,mnt,net,pid,time,user,uts or all);\n"
      "                     clone3 is refused with ENOSYS so callers fall back to clone\n"
      "  --errno=E          errno of the refusals: EPERM (default), ENOSPC, EINVAL, ENOSYS, EACCES\n"
      "  --setns-zero       also refuse setns(fd, 0) (the filter cannot see the fd's type)\n"
      "  --deny-syscalls=L  also refuse whole syscalls (sethostname, setdomainname,\n"
      "                     open_by_handle_at, name_to_handle_at, mount, umount2, pivot_root,\n"
      "                     setns, unshare, keyctl, bpf, reboot)\n"
      "  --runc-caps        euid 0 with only runc's default capabilities, no_new_privs\n"
      "  --drop-caps=L      drop these capabilities from every set, bounding included\n"
      "                     (e.g. setfcap or net_admin,sys_time), keeping euid 0\n"
      "  --ro-proc-sys      /proc/sys read-only (bind mount in a private mount namespace)\n"
      "  --userns           new user namespace, root mapped to the caller, setgroups=deny\n"
      "Example: nsc-fault --deny=pid --errno=ENOSPC -- build/nsconform --format=json\n"
      "Exit: COMMAND's status; 64 bad usage; 125 the fault could not be set up.");
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string_view::npos) comma = s.size();
    if (comma > start) out.emplace_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

Options Parse(int argc, char** argv) {
  Options o;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view prefix) -> std::string_view {
      return a.substr(prefix.size());
    };
    if (a == "--") {
      ++i;
      break;
    } else if (a == "--help" || a == "-h") {
      Help();
      std::exit(0);
    } else if (a.starts_with("--deny=")) {
      for (const std::string& name : SplitComma(value("--deny="))) {
        bool found = false;
        for (const NsFlag& f : kNsFlags) {
          if (name == f.name || name == "all") {
            o.deny_flags |= f.flag;
            found = true;
          }
        }
        if (!found) Usage("unknown namespace type '" + name + "' in --deny");
      }
    } else if (a.starts_with("--errno=")) {
      bool found = false;
      for (const Errno& e : kErrnos) {
        if (value("--errno=") == e.name) {
          o.err = e.value;
          found = true;
        }
      }
      if (!found) Usage("unknown errno '" + std::string(value("--errno=")) + "'");
    } else if (a == "--setns-zero") {
      o.setns_zero = true;
    } else if (a.starts_with("--deny-syscalls=")) {
      for (const std::string& name : SplitComma(value("--deny-syscalls="))) {
        bool found = false;
        for (const Syscall& s : kSyscalls) {
          if (name == s.name) {
            o.deny_syscalls.push_back(s.nr);
            found = true;
          }
        }
        if (!found) Usage("unknown syscall '" + name + "' in --deny-syscalls");
      }
    } else if (a.starts_with("--drop-caps=")) {
      for (std::string name : SplitComma(value("--drop-caps="))) {
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (name.starts_with("cap_")) name = name.substr(4);
        bool found = false;
        for (size_t cap = 0; cap < std::size(kCapNames); ++cap) {
          if (name == kCapNames[cap]) {
            o.drop_caps |= 1ull << cap;
            found = true;
          }
        }
        if (!found) Usage("unknown capability '" + name + "' in --drop-caps");
      }
    } else if (a == "--runc-caps") {
      o.runc_caps = true;
    } else if (a == "--ro-proc-sys") {
      o.ro_proc_sys = true;
    } else if (a == "--userns") {
      o.userns = true;
    } else {
      Usage("unknown option '" + std::string(a) + "'");
    }
  }
  if (i >= argc) Usage("no command given after --");
  o.command = argv + i;
  return o;
}

// ---------------------------------------------------------------------------------------------
// The seccomp filter

constexpr uint32_t ArgLow(int n) {
  return static_cast<uint32_t>(offsetof(seccomp_data, args) + n * sizeof(uint64_t));
}

sock_filter Stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

// Straight-line BPF with fixed forward offsets (jt/jf count the instructions skipped).
std::vector<sock_filter> BuildFilter(const Options& o) {
  const uint32_t deny = SECCOMP_RET_ERRNO | (static_cast<uint32_t>(o.err) & SECCOMP_RET_DATA);
  const uint32_t allow = SECCOMP_RET_ALLOW;
  const auto mask = static_cast<uint32_t>(o.deny_flags);  // every CLONE_NEW* is in the low word
  constexpr uint16_t kJeq = BPF_JMP | BPF_JEQ | BPF_K;
  constexpr uint16_t kJset = BPF_JMP | BPF_JSET | BPF_K;
  constexpr uint16_t kLoad = BPF_LD | BPF_W | BPF_ABS;
  constexpr uint16_t kRet = BPF_RET | BPF_K;

  std::vector<sock_filter> p;
  // Another architecture (32-bit compat syscalls): allowed; this is test tooling, not a sandbox.
  p.push_back(Stmt(kLoad, offsetof(seccomp_data, arch)));
  p.push_back(Jump(kJeq, kAuditArch, 1, 0));
  p.push_back(Stmt(kRet, allow));
  p.push_back(Stmt(kLoad, offsetof(seccomp_data, nr)));
  for (long nr : o.deny_syscalls) {  // whole syscalls
    p.push_back(Jump(kJeq, static_cast<uint32_t>(nr), 0, 1));
    p.push_back(Stmt(kRet, deny));
  }
  if (mask != 0) {
    // clone3 keeps its flags in memory: ENOSYS, so that glibc and others fall back to clone.
    p.push_back(Jump(kJeq, SYS_clone3, 0, 1));            // 0
    p.push_back(Stmt(kRet, SECCOMP_RET_ERRNO | ENOSYS));  // 1
    // clone(flags, ...) and unshare(flags): flags in args[0].
    p.push_back(Jump(kJeq, SYS_clone, 1, 0));             // 2 -> 4
    p.push_back(Jump(kJeq, SYS_unshare, 0, 4));           // 3 -> 8
    p.push_back(Stmt(kLoad, ArgLow(0)));                  // 4
    p.push_back(Jump(kJset, mask, 0, 1));                 // 5 -> 6 / 7
    p.push_back(Stmt(kRet, deny));                        // 6
    p.push_back(Stmt(kRet, allow));                       // 7
    // setns(fd, nstype): nstype in args[1]; 0 means "whatever type fd is".
    p.push_back(Jump(kJeq, SYS_setns, 0, 6));             // 8 -> 9 / 15
    p.push_back(Stmt(kLoad, ArgLow(1)));                  // 9
    p.push_back(Jump(kJset, mask, 0, 1));                 // 10 -> 11 / 12
    p.push_back(Stmt(kRet, deny));                        // 11
    p.push_back(Jump(kJeq, 0, 0, 1));                     // 12 -> 13 / 14
    p.push_back(Stmt(kRet, o.setns_zero ? deny : allow)); // 13
    p.push_back(Stmt(kRet, allow));                       // 14
  }
  p.push_back(Stmt(kRet, allow));                         // 15
  return p;
}

void InstallFilter(const Options& o) {
  std::vector<sock_filter> prog = BuildFilter(o);
  sock_fprog fprog{static_cast<unsigned short>(prog.size()), prog.data()};
  // Without CAP_SYS_ADMIN the kernel insists on no_new_privs; with it, leave the flag alone
  // (docker and podman do not set it by default either).
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) == 0) return;
  if (errno != EACCES) Die("seccomp(SECCOMP_SET_MODE_FILTER)");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Die("prctl(PR_SET_NO_NEW_PRIVS)");
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) {
    Die("seccomp(SECCOMP_SET_MODE_FILTER)");
  }
}

// ---------------------------------------------------------------------------------------------
// Privilege and mounts

bool WriteFile(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int saved = errno;
  close(fd);
  errno = saved;
  return ok;
}

void EnterUserNamespaceSetgroupsDeny() {
  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (unshare(CLONE_NEWUSER) != 0) Die("unshare(CLONE_NEWUSER)");
  if (!WriteFile("/proc/self/setgroups", "deny")) Die("write /proc/self/setgroups");
  if (!WriteFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n")) Die("write uid_map");
  if (!WriteFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n")) Die("write gid_map");
}

void MakeProcSysReadOnly() {
  if (unshare(CLONE_NEWNS) != 0) Die("unshare(CLONE_NEWNS)");
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) Die("make / private");
  if (mount("/proc/sys", "/proc/sys", nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    Die("bind mount /proc/sys");
  }
  if (mount(nullptr, "/proc/sys", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    Die("remount /proc/sys read-only");
  }
}

// Keeps only the capabilities in `keep`, in every set (bounding and ambient included).
void KeepOnlyCaps(uint64_t keep) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) Die("capget");
  for (int cap = 0; cap <= 63; ++cap) {
    if ((keep >> cap) & 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) Die("PR_CAPBSET_DROP");
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    Die("PR_CAP_AMBIENT_CLEAR_ALL");
  }
  for (int i = 0; i < 2; ++i) {
    const auto word = static_cast<uint32_t>(keep >> (32 * i));
    data[i].effective &= word;
    data[i].permitted &= word;
    data[i].inheritable &= word;
  }
  if (syscall(SYS_capset, &header, data) != 0) Die("capset");
}

// runc's default spec: CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE in every set, and
// no_new_privs.
void KeepOnlyRuncCaps() {
  KeepOnlyCaps((1ull << CAP_AUDIT_WRITE) | (1ull << CAP_KILL) | (1ull << CAP_NET_BIND_SERVICE));
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Die("prctl(PR_SET_NO_NEW_PRIVS)");
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  if (o.userns) EnterUserNamespaceSetgroupsDeny();
  if (o.ro_proc_sys) MakeProcSysReadOnly();
  if (o.runc_caps) KeepOnlyRuncCaps();
  if (o.drop_caps != 0) KeepOnlyCaps(~o.drop_caps);
  if (o.deny_flags != 0 || !o.deny_syscalls.empty()) InstallFilter(o);
  execvp(o.command[0], o.command);
  std::fprintf(stderr, "nsc-fault: exec %s: %s\n", o.command[0], std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
