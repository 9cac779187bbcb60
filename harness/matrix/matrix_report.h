// The matrix: rules x kernels, one cell per status, built from the per-kernel JSON reports;
// rendered as JSON (canonical), a terminal table of the rows where kernels differ, and one
// self-contained HTML page. A saved matrix can serve as the baseline of the next one.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nsc::matrix {

// One kernel's outcome, as the matrix needs it.
struct KernelRun {
  std::string label;    // "debian-bookworm-cloud"
  std::string release;  // uname -r
  nlohmann::json package = nlohmann::json::object();
  nlohmann::json distro = nlohmann::json::object();
  bool reported = false;         // a report came back
  std::string error;             // why not (guest panicked, hung, never reported)
  nlohmann::json report;         // the guest's report (when reported)
  nlohmann::json attempts = nlohmann::json::array();  // per boot: {seconds, qemu_exit, why?}
  double wall_s = 0;             // resolve + boot(s) for this kernel
  std::string report_dir;        // where its reports and console log are
};

// Orders kernels by version (5.10 < 6.1 < 6.12 < 7.2), then by label; kernels that could not
// be resolved (no release) last.
void SortKernels(std::vector<KernelRun>& runs);
// "6.1.0-57-amd64" -> {6, 1, 0}
std::vector<int> ReleaseNumbers(const std::string& release);

nlohmann::json BuildMatrix(const std::vector<KernelRun>& runs, const nlohmann::json& meta);

// How a rule's status moved between two cells (baseline -> now, or one kernel -> the next).
// "same", "regression" (pass -> fail, or -> an error of the kernel's making: TIMEOUT, CRASHED),
// "fix" (the reverse), "environment" (a SKIP, a set-up error or a guest that never reported
// on either side: the environment differed, not the kernel's behaviour), "changed" otherwise.
std::string ClassifyChange(const nlohmann::json& before, const nlohmann::json& after);

// Marks cells against a saved matrix: matrix["baseline"] = {file, regressions[], fixes[],
// environment[]}; returns the number of regressions.
int ApplyBaseline(nlohmann::json& matrix, const nlohmann::json& baseline, const std::string& file);

std::string RenderMatrixTable(const nlohmann::json& matrix);
std::string RenderMatrixHtml(const nlohmann::json& matrix);

}  // namespace nsc::matrix
