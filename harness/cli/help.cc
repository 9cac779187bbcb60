// The text of `nsconform --help`.
#include "help.h"

namespace nsc {

const char* const kHelpText = R"(Usage: nsconform [OPTIONS]
       nsconform convert REPORT.json --to=junit|junit-strict|ktap|kcidb [-o PATH]
       nsconform compare BEFORE.json AFTER.json

Checks, rule by documented rule, that the running kernel's namespaces behave as the man
pages say. Each rule runs in its own supervised process tree; nothing on the host changes.

Selecting rules
  --list                 list the selected rule IDs (with --json-list: full metadata as JSON)
  --explain RULE         print a rule: statement, source, how it is observed, its control,
                         requirements, and whether it can run here
  --filter GLOBS         GoogleTest syntax over rule IDs: POS[:POS...][-NEG[:NEG...]],
                         e.g. --filter 'pid.*-pid.reboot_*'
  --namespace LIST       only these namespace groups, e.g. --namespace pid,user
  --allow-empty          an empty selection is not an error

Running
  -j, --jobs N           cases run in parallel, 1..1024 (default: number of CPUs)
  --timeout-multiplier X scale every case timeout, 0.01..1000 (env NSCONFORM_TIMEOUT_MUL;
                         default 1)
  --max-runtime SECONDS  stop the whole run after this long, up to 30 days (exit 124,
                         partial reports)
  --control              run each rule's sensitivity control instead of the rule: the same
                         check where the rule must not hold. Every control must FAIL; the
                         exit code is 0 when all of them did
  --userns               run `userns` rules inside a fresh user namespace even as root
                         (what an unprivileged user gets)
  -q, --quiet            no progress output

Reports (written atomically; a path that cannot be written fails before anything runs)
  --report-dir DIR       default directory (default: reports); files go to
                         DIR/<kernel release>/nsconform-<release>-<arch>[-control].{json,junit.xml,ktap}
  --no-default-reports   write only the reports named explicitly below
  --json PATH            canonical JSON report (schema: reports/nsconform-report.schema.json)
  --junit PATH           JUnit XML;  --junit-profile common|strict (strict = junit-4.xsd)
  --ktap PATH|-          KTAP v1
                         PATH "-" is stdout, for any one report; human output then goes
                         to stderr. Two reports may not share a path.
  --ktap-nested          group KTAP by namespace (KUnit style)
  --kcidb PATH           KCIDB v5.3 JSON
  --stable               omit timings and timestamps (diff two runs)
  --redact               omit hostname and kernel command line
  --no-error-on-fail     exit 0 even if rules fail (CI that gates on the reports)

Exit codes: 0 no failure or error, 1 a rule failed or errored (or the host audit found a
change), 4 every selected rule skipped, 64 usage error, 70 internal or report-writing error,
124 --max-runtime exceeded, 130 interrupted (SIGINT/SIGTERM/SIGHUP at any moment: what runs
is killed, partial reports are written with run.complete false).

Examples
  nsconform                              # everything, reports in reports/<release>/
  nsconform --namespace pid --ktap -     # PID rules as KTAP on stdout
  nsconform --explain pid.fd_pins_namespace
  nsconform --control --filter 'pid.*'   # prove every PID check can fail
)";

}  // namespace nsc
