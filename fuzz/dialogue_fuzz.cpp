// Fuzzes the local engine's dialogue with what reaches it from outside: an agent's guardrail
// sentences (written by a tenant through the API) and caller text (recogniser output, or a
// grammar's reading) and keys. Input: guardrail lines, a line "--", then caller turns, one per
// line; a turn starting with '#' is a key press per following byte, one with '|' carries the
// closed-grammar reading after it. Any input must give replies, never a crash.
#include "tempo/agent/demo_agent.hpp"
#include "tempo/engine/local/dialogue.hpp"

#include "fuzz_lines.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tempo::engine::local;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto agent = tempo::agent::MakeDemoAgent("local");
  agent.guardrails.clear();
  std::vector<std::string_view> turns;
  bool in_rules = true;
  for (std::string_view line : tempo::fuzz::Lines(input)) {
    if (in_rules && line == "--") {
      in_rules = false;
    } else if (in_rules) {
      agent.guardrails.emplace_back(line);
      (void)ParseGuardrail(line);
    } else {
      turns.push_back(line);
    }
  }
  (void)DialogueCorpus(agent);
  Dialogue dialogue(agent, turns.empty() ? "" : std::string(turns.front()));
  (void)dialogue.Greeting();
  for (std::string_view turn : turns) {
    (void)ExtractCallbackTime(turn);
    if (!turn.empty() && turn.front() == '#') {
      for (char key : turn.substr(1)) (void)dialogue.OnDtmf(key);
      (void)dialogue.OnDtmfPause();
    } else if (auto bar = turn.find('|'); bar != std::string_view::npos) {
      (void)dialogue.OnCallerText(turn.substr(0, bar), turn.substr(bar + 1));
    } else if (turn.empty()) {
      (void)dialogue.OnSilence();
    } else {
      (void)dialogue.OnCallerText(turn);
    }
    (void)dialogue.expecting();
  }
  (void)dialogue.OnToolFailed("transfer_call");
  return 0;
}
