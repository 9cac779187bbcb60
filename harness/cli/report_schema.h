// reports/nsconform-report.schema.json, embedded in the binary at build time (CMake
// configure_file of report_schema.cc.in), so that `convert` and `compare` validate their input
// wherever the binary runs, nsconform-static in a bare chroot included.
#pragma once

namespace nsc {

extern const char* const kReportSchemaJson;

}  // namespace nsc
