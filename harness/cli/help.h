// The text of `nsconform --help`: what the tool does, every option, exit codes, examples.
#pragma once

namespace nsc {

extern const char* const kHelpText;

}  // namespace nsc
