// Child side of the result channel: fixed-size records, one write(2) each.
#include "nsconform/probe.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nsc {
namespace {

void CopyBounded(char* dst, size_t cap, const char* src) {
  size_t i = 0;
  if (src != nullptr) {
    for (; i + 1 < cap && src[i] != '\0'; ++i) dst[i] = src[i];
  }
  dst[i] = '\0';
}

}  // namespace

void Probe::Raw(RecordKind kind, const char* key, int64_t a, int64_t b, int err,
                const char* text, uint16_t reason) const {
  const int saved_errno = errno;
  WireRecord r{};
  r.magic = kWireMagic;
  r.kind = kind;
  r.reason = reason;
  r.err = err;
  r.pid = static_cast<int32_t>(syscall(SYS_getpid));
  r.a = a;
  r.b = b;
  CopyBounded(r.key, sizeof r.key, key);
  CopyBounded(r.text, sizeof r.text, text);
  const char* p = reinterpret_cast<const char*>(&r);
  size_t left = sizeof r;
  while (left > 0) {  // a pipe write below PIPE_BUF is atomic; the loop only covers EINTR
    ssize_t n = write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    p += n;
    left -= static_cast<size_t>(n);
  }
  errno = saved_errno;
}

void Probe::Value(const char* key, int64_t value) const {
  Raw(RecordKind::kValue, key, value, 0, 0, nullptr);
}

void Probe::Call(const char* key, long ret) const {
  const int err = errno;
  Raw(RecordKind::kCall, key, ret, 0, ret == -1 ? err : 0, nullptr);
}

void Probe::Text(const char* key, const char* text) const {
  Raw(RecordKind::kText, key, 0, 0, 0, text);
}

void Probe::NsId(const char* key, const char* path) const {
  struct stat st;
  if (stat(path, &st) == -1) {
    Raw(RecordKind::kNsId, key, -1, 0, errno, path);
  } else {
    Raw(RecordKind::kNsId, key, static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino), 0,
        path);
  }
}

void Probe::NsIdOfFd(const char* key, int fd) const {
  struct stat st;
  if (fstat(fd, &st) == -1) {
    Raw(RecordKind::kNsId, key, -1, 0, errno, nullptr);
  } else {
    Raw(RecordKind::kNsId, key, static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino), 0,
        nullptr);
  }
}

void Probe::Note(const char* text) const { Raw(RecordKind::kNote, nullptr, 0, 0, 0, text); }

void Probe::Skip(ReasonCode code, const char* why) const {
  Raw(RecordKind::kSkip, nullptr, 0, 0, errno, why, static_cast<uint16_t>(code));
  _exit(0);
}

void Probe::SetupFailed(const char* what) const {
  Raw(RecordKind::kSetupError, nullptr, 0, 0, errno, what);
  _exit(70);
}

}  // namespace nsc
