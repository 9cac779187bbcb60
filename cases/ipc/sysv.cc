// IPC namespaces: System V IPC identifiers, the IPC sysctls and /proc/sysvipc are per
// namespace; CLONE_NEWIPC and CLONE_SYSVSEM. Source: ipc_namespaces(7), DESCRIPTION;
// unshare(2) and clone(2), CLONE_NEWIPC.
//
// Never touch the host: every IPC object and every sysctl write is made in an IPC namespace the
// case created (RequireCaseIpcNs), in the rule and in the control; the controls let two case
// processes share one new namespace instead of dropping CLONE_NEWIPC.
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

#include "ipc_util.h"
#include "nsconform/case.h"

namespace nsc::cases::ipc {
namespace {

using ::testing::Eq;
using ::testing::Ge;

union SemArg {  // union semun of semctl(2), which callers must define themselves
  int val;
  struct semid_ds* buf;
  unsigned short* array;
};

// Flow:
//  1. A is cloned with CLONE_NEWIPC and creates a message queue, a shared memory segment and a
//     semaphore set with key K (IPC_CREAT|IPC_EXCL).
//  2. A clones B with CLONE_NEWIPC; B looks K up with msgget/shmget/semget(K, 0).
//     Control: B is cloned without CLONE_NEWIPC and shares A's namespace.
//  3. A removes the objects (IPC_RMID); its namespace dies with it anyway.
void SysvObjectsIsolated(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/ipc");
  ChildProcess a = Spawn(CLONE_NEWIPC, [&] {
    RequireCaseIpcNs(p, start, "A");
    p.NsId("A.ipc_ns", "/proc/self/ns/ipc");
    const int msq = msgget(kKey, IPC_CREAT | IPC_EXCL | 0600);
    p.Call("A.msgget", msq);
    const int shm = shmget(kKey, 4096, IPC_CREAT | IPC_EXCL | 0600);
    p.Call("A.shmget", shm);
    const int sem = semget(kKey, 1, IPC_CREAT | IPC_EXCL | 0600);
    p.Call("A.semget", sem);
    ChildProcess b = Spawn(p.Flags(CLONE_NEWIPC, CLONE_NEWIPC), [&] {
      p.NsId("B.ipc_ns", "/proc/self/ns/ipc");
      p.Call("B.msgget", msgget(kKey, 0));
      p.Call("B.shmget", shmget(kKey, 0, 0));
      p.Call("B.semget", semget(kKey, 0, 0));
      return 0;
    });
    RecordCloneForSetup(p, "A.clone", b, "clone(CLONE_NEWIPC)");
    b.Wait();
    if (msq >= 0) msgctl(msq, IPC_RMID, nullptr);
    if (shm >= 0) shmctl(shm, IPC_RMID, nullptr);
    if (sem >= 0) semctl(sem, 0, IPC_RMID);
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", a, "clone(CLONE_NEWIPC)");
  a.Wait();
}

NSC_CASE({
    .id = "ipc.sysv_objects_isolated",
    .title = "System V IPC objects created in one IPC namespace cannot be seen from another",
    .source = {"ipc_namespaces(7)", "DESCRIPTION"},
    .references = {"msgget(2)", "shmget(2)", "semget(2)"},
    .observe = "namespace A creates a message queue, a shared memory segment and a semaphore set "
               "with key K; in a second new namespace B, msgget/shmget/semget(K, 0) fail with "
               "ENOENT",
    .control = "B is cloned without CLONE_NEWIPC and shares A's (case-created) namespace: it "
               "finds all three objects (contradicts B.msgget, B.shmget and B.semget)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWIPC, .min_kernel = {2, 6, 19}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("A.msgget", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("A.shmget", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("A.semget", SucceedsWith(Ge(0)))),
                      Given(ExpectCall("A.clone", Succeeds()))},
    .expect = {ExpectCall("B.msgget", FailsWith(ENOENT)), ExpectCall("B.shmget", FailsWith(ENOENT)),
               ExpectCall("B.semget", FailsWith(ENOENT)), Record("A.ipc_ns"), Record("B.ipc_ns")},
    .body = SysvObjectsIsolated,
});

// Flow:
//  1. The body records its own msgmax and fs/mqueue/msg_max.
//  2. A is cloned with CLONE_NEWIPC and records its initial values (record list item 15).
//  3. A clones B with CLONE_NEWIPC, which records its initial values and waits.
//     Control: B is cloned without CLONE_NEWIPC and shares A's namespace.
//  4. A writes new values (initial + 1) to both sysctls and creates one message queue.
//  5. B reads both sysctls and counts the entries of /proc/sysvipc/msg; A counts its own.
//     A namespace D cloned by A after the write records its initial values: A's new values if
//     a new namespace copies its creator's, the kernel defaults otherwise (item 15, recorded).
//  6. The body reads its own values again.
void SysctlsPerNs(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/ipc");
  p.Value("parent.msgmax_before", ReadNumberFile("/proc/sys/kernel/msgmax"));
  p.Value("parent.mq_msg_max_before", ReadNumberFile("/proc/sys/fs/mqueue/msg_max"));
  ChildProcess a = Spawn(CLONE_NEWIPC, [&] {
    RequireCaseIpcNs(p, start, "A");
    const int64_t msgmax = ReadNumberFile("/proc/sys/kernel/msgmax");
    const int64_t mq_msg_max = ReadNumberFile("/proc/sys/fs/mqueue/msg_max");
    if (msgmax < 0 || mq_msg_max < 0) {
      p.Skip(ReasonCode::kPreconditionUnmet,
             "/proc/sys/kernel/msgmax or /proc/sys/fs/mqueue/msg_max cannot be read");
    }
    p.Value("new_ns.msgmax_initial", msgmax);
    p.Value("new_ns.mq_msg_max_initial", mq_msg_max);
    Barrier written;
    if (!written.ok()) p.SetupFailed("pipe for the barrier");
    ChildProcess b = Spawn(p.Flags(CLONE_NEWIPC, CLONE_NEWIPC), [&] {
      written.CloseWriteEnd();
      if (!written.Wait()) p.SetupFailed("A exited before writing");
      p.Value("B.msgmax", ReadNumberFile("/proc/sys/kernel/msgmax"));
      p.Value("B.mq_msg_max", ReadNumberFile("/proc/sys/fs/mqueue/msg_max"));
      p.Value("B.sysvipc_msg_entries", CountSysvipcEntries("/proc/sysvipc/msg"));
      return 0;
    });
    RecordCloneForSetup(p, "A.clone", b, "clone(CLONE_NEWIPC)");
    written.CloseReadEnd();
    PathBuf value;
    value.Add(msgmax + 1);
    RecordSysctlWrite(p, "A.write_msgmax", "/proc/sys/kernel/msgmax", value.c_str());
    PathBuf mq_value;
    mq_value.Add(mq_msg_max + 1);
    RecordSysctlWrite(p, "A.write_mq_msg_max", "/proc/sys/fs/mqueue/msg_max", mq_value.c_str());
    p.Value("A.msgmax", ReadNumberFile("/proc/sys/kernel/msgmax"));
    p.Value("A.mq_msg_max", ReadNumberFile("/proc/sys/fs/mqueue/msg_max"));
    const int msq = msgget(kKey, IPC_CREAT | IPC_EXCL | 0600);
    p.Call("A.msgget", msq);
    p.Value("A.sysvipc_msg_entries", CountSysvipcEntries("/proc/sysvipc/msg"));
    ChildProcess d = Spawn(CLONE_NEWIPC, [&] {
      p.Value("created_after_write.msgmax_initial", ReadNumberFile("/proc/sys/kernel/msgmax"));
      p.Value("created_after_write.mq_msg_max_initial",
              ReadNumberFile("/proc/sys/fs/mqueue/msg_max"));
      return 0;
    });
    d.Wait();
    written.Signal();
    b.Wait();
    if (msq >= 0) msgctl(msq, IPC_RMID, nullptr);
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", a, "clone(CLONE_NEWIPC)");
  a.Wait();
  p.Value("parent.msgmax_after", ReadNumberFile("/proc/sys/kernel/msgmax"));
  p.Value("parent.mq_msg_max_after", ReadNumberFile("/proc/sys/fs/mqueue/msg_max"));
}

NSC_CASE({
    .id = "ipc.sysctls_per_ns",
    .title = "The IPC sysctls and /proc/sysvipc are separate in each IPC namespace",
    .source = {"ipc_namespaces(7)", "DESCRIPTION"},
    .references = {"proc_sys_kernel(5)", "mq_overview(7), /proc interfaces"},
    .observe = "namespace A writes new values to /proc/sys/kernel/msgmax and "
               "/proc/sys/fs/mqueue/msg_max and creates a message queue: a second new namespace B "
               "still reads other values and its /proc/sysvipc/msg has no entry, while the "
               "body's values are unchanged. The initial values of a new namespace are recorded "
               "(kernel defaults or copies of the creator's: not documented; a namespace created "
               "after A's write tells them apart)",
    .control = "B is cloned without CLONE_NEWIPC and shares A's (case-created) namespace: it "
               "reads A's new values and lists A's queue (contradicts B.msgmax, B.mq_msg_max and "
               "B.sysvipc_msg_entries)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWIPC, .min_kernel = {2, 6, 19}},
    // A value that cannot be read is a missing input (SKIP), never compared as -1.
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(Expect("parent.msgmax_before", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("parent.mq_msg_max_before", Ge(0)),
                            ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("A.clone", Succeeds())),
                      Given(ExpectCall("A.write_msgmax", Succeeds())),
                      Given(ExpectCall("A.write_mq_msg_max", Succeeds())),
                      Given(Expect("A.msgmax", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("A.mq_msg_max", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(ExpectCall("A.msgget", SucceedsWith(Ge(0)))),
                      Given(Expect("A.sysvipc_msg_entries", Eq(1)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("B.msgmax", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("B.mq_msg_max", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("B.sysvipc_msg_entries", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("parent.msgmax_after", Ge(0)), ReasonCode::kPreconditionUnmet),
                      Given(Expect("parent.mq_msg_max_after", Ge(0)),
                            ReasonCode::kPreconditionUnmet)},
    .expect = {ExpectDifferentValue("B.msgmax", "A.msgmax"),
               ExpectDifferentValue("B.mq_msg_max", "A.mq_msg_max"),
               Expect("B.sysvipc_msg_entries", Eq(0)),
               ExpectSameValue("parent.msgmax_after", "parent.msgmax_before"),
               ExpectSameValue("parent.mq_msg_max_after", "parent.mq_msg_max_before"),
               Record("new_ns.msgmax_initial"), Record("new_ns.mq_msg_max_initial"),
               Record("created_after_write.msgmax_initial"),
               Record("created_after_write.mq_msg_max_initial")},
    .body = SysctlsPerNs,
});

// Flow:
//  1. A is cloned with CLONE_NEWIPC and creates a one-semaphore set with value 0.
//  2. A clones B without CLONE_NEWIPC (same namespace, separate semadj list: no CLONE_SYSVSEM).
//  3. B: semop(+1, SEM_UNDO); A records the value (1).
//  4. B: unshare(CLONE_NEWIPC); A records the value again: the adjustment was applied (0).
//     Control: B calls unshare(0) instead; its adjustment stays pending.
//  5. B exits (any pending adjustment is applied then); A records the final value.
void UnshareImpliesSysvsem(const Probe& p) {
  const NsFileId start = NsFileIdOf("/proc/self/ns/ipc");
  ChildProcess a = Spawn(CLONE_NEWIPC, [&] {
    RequireCaseIpcNs(p, start, "A");
    const int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    if (sem < 0) p.SetupFailed("semget(IPC_PRIVATE) in A's namespace");
    SemArg zero{};
    zero.val = 0;
    NSC_SETUP(p, semctl(sem, 0, SETVAL, zero), "semctl(SETVAL, 0)");
    Barrier to_a, to_b;
    if (!to_a.ok() || !to_b.ok()) p.SetupFailed("pipes for the barriers");
    ChildProcess b = Spawn(0, [&] {
      to_a.CloseReadEnd();
      to_b.CloseWriteEnd();
      struct sembuf up{0, 1, SEM_UNDO};
      p.Call("B.semop_undo", semop(sem, &up, 1));
      to_a.Signal();
      if (!to_b.Wait()) return 1;
      const int unshared = unshare(p.Pick(static_cast<int>(CLONE_NEWIPC), 0));
      const int err = errno;
      p.Call("B.unshare", unshared);
      if (unshared == -1) NamespaceSetupFailed(p, err, "unshare(CLONE_NEWIPC)");
      to_a.Signal();
      to_b.Wait();  // EOF: A has read the value
      return 0;
    });
    RecordCloneForSetup(p, "A.clone", b, "fork of B in A's IPC namespace");
    to_a.CloseWriteEnd();
    to_b.CloseReadEnd();
    if (!to_a.Wait()) p.SetupFailed("B exited before its semop");
    p.Value("before_unshare.semval", semctl(sem, 0, GETVAL));
    to_b.Signal();
    if (!to_a.Wait()) p.SetupFailed("B exited before its unshare");
    p.Value("after_unshare.semval", semctl(sem, 0, GETVAL));
    to_b.CloseWriteEnd();
    b.Wait();
    p.Value("after_exit.semval", semctl(sem, 0, GETVAL));
    semctl(sem, 0, IPC_RMID);
    return 0;
  });
  RecordCloneForSetup(p, "body.clone", a, "clone(CLONE_NEWIPC)");
  a.Wait();
}

NSC_CASE({
    .id = "ipc.unshare_implies_sysvsem",
    .title = "unshare(CLONE_NEWIPC) implies CLONE_SYSVSEM: pending semadj values are applied",
    .source = {"unshare(2)", "CLONE_NEWIPC"},
    .references = {"unshare(2), CLONE_SYSVSEM", "semop(2), SEM_UNDO"},
    .observe = "a process raises a semaphore with SEM_UNDO (value 1), then calls "
               "unshare(CLONE_NEWIPC) and stays alive: seen from the original namespace the value "
               "has reverted to 0",
    .control = "the process calls unshare(0) instead: its adjustment stays pending and the value "
               "remains 1 until it exits (contradicts after_unshare.semval)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWIPC, .min_kernel = {2, 6, 26}},
    .preconditions = {Given(ExpectCall("body.clone", Succeeds())),
                      Given(ExpectCall("A.clone", Succeeds())),
                      Given(ExpectCall("B.semop_undo", Succeeds())),
                      Given(Expect("before_unshare.semval", Eq(1))),
                      Given(ExpectCall("B.unshare", Succeeds()))},
    .expect = {Expect("after_unshare.semval", Eq(0)), Expect("after_exit.semval", Eq(0))},
    .body = UnshareImpliesSysvsem,
});

// Flow: 1. the positive arm: clone(CLONE_NEWIPC|SIGCHLD) succeeds here (so an EINVAL below is
// not a filter refusing CLONE_NEWIPC); 2. clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD) is recorded;
// a child that was created anyway exits at once (it could only be in a new, case-owned IPC
// namespace).
// Control: clone(CLONE_NEWIPC|SIGCHLD) without CLONE_SYSVSEM, which succeeds.
void CloneNewipcWithSysvsemEinval(const Probe& p) {
  ChildProcess alone = Spawn(CLONE_NEWIPC, [] { return 0; });
  RecordCloneForSetup(p, "clone_newipc_alone", alone, "clone(CLONE_NEWIPC) without CLONE_SYSVSEM");
  alone.Wait();
  ChildProcess c = Spawn(p.Flags(CLONE_NEWIPC | CLONE_SYSVSEM, CLONE_SYSVSEM), [] { return 0; });
  p.Call("clone", c.pid());
  if (c.ok()) c.Wait();
}

NSC_CASE({
    .id = "ipc.clone_newipc_with_sysvsem_einval",
    .title = "clone() rejects CLONE_NEWIPC together with CLONE_SYSVSEM with EINVAL",
    .source = {"clone(2)", "CLONE_NEWIPC"},
    .references = {"clone(2), ERRORS"},
    .observe = "clone(CLONE_NEWIPC|CLONE_SYSVSEM|SIGCHLD) returns -1 with EINVAL",
    .control = "clone(CLONE_NEWIPC|SIGCHLD) without CLONE_SYSVSEM succeeds (contradicts clone)",
    .needs = {.privilege = Privilege::kUserns, .namespaces = CLONE_NEWIPC, .min_kernel = {2, 6, 19}},
    .preconditions = {Given(ExpectCall("clone_newipc_alone", Succeeds()))},
    .expect = {ExpectCall("clone", FailsWith(EINVAL))},
    .body = CloneNewipcWithSysvsemEinval,
});

}  // namespace
}  // namespace nsc::cases::ipc
