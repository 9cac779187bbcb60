// main() of every test binary: GoogleTest plus a global check that the tests themselves leave
// nothing behind — no process, no mount, no hostname change, no System V IPC object, no temp
// file (the session temp root is removed and must be removable).
#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "support.h"

namespace nsc::test {
namespace {

struct HostState {
  std::string hostname;
  std::multiset<std::string> mounts;
  std::map<std::string, size_t> ipc_lines;

  static HostState Take() {
    HostState s;
    struct utsname u{};
    uname(&u);
    s.hostname = u.nodename;
    std::ifstream in("/proc/self/mountinfo");
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string id, parent, devno, root, mountpoint;
      f >> id >> parent >> devno >> root >> mountpoint;
      s.mounts.insert(mountpoint + " " + line.substr(line.find(" - ") + 3));
    }
    for (const char* kind : {"shm", "msg", "sem"}) {
      std::ifstream ipc(std::string("/proc/sysvipc/") + kind);
      size_t n = 0;
      while (std::getline(ipc, line)) ++n;
      s.ipc_lines[kind] = n;
    }
    return s;
  }
};

class NoLeftovers : public ::testing::Environment {
 public:
  void SetUp() override { before_ = HostState::Take(); }

  void TearDown() override {
    std::vector<std::string> procs = FindProcesses({});
    EXPECT_TRUE(procs.empty()) << "processes started by the tests are still alive:\n"
                               << ::testing::PrintToString(procs);
    HostState after = HostState::Take();
    EXPECT_EQ(before_.hostname, after.hostname) << "the tests changed the hostname";
    EXPECT_EQ(before_.mounts, after.mounts) << "the tests changed the mount table";
    EXPECT_EQ(before_.ipc_lines, after.ipc_lines) << "the tests left System V IPC objects";
    const fs::path root = SessionTempRoot();
    try {
      RemoveSessionTempRoot();
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    EXPECT_FALSE(fs::exists(root)) << root << " was not removed";
  }

 private:
  HostState before_;
};

}  // namespace
}  // namespace nsc::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new nsc::test::NoLeftovers);
  return RUN_ALL_TESTS();
}
