#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/engine/local/knowledge_index.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::engine::local {

/// What the dialogue recognised in a caller's utterance.
enum class Intent : uint8_t {
  kNone,           ///< nothing recognisable (empty text)
  kGoodbye,        ///< bye / goodbye / that's all
  kHuman,          ///< a person, an agent, a representative, an operator
  kVoicemail,      ///< leave a message / voicemail
  kCallback,       ///< call me back [time]
  kKnowledge,      ///< answered from the knowledge base
  kYes,            ///< yes to a pending question
  kNo,             ///< no to a pending question
  kInappropriate,  ///< abusive language
  kFallback,       ///< nothing matched: offer a transfer
};
std::string_view ToString(Intent intent);

/// A tool the reply asks the runtime to run after its audio.
struct ToolRequest {
  std::string name;            ///< end_call | transfer_call | voicemail | schedule_callback
  std::string arguments_json;  ///< a JSON object
};

struct Reply {
  Intent intent = Intent::kNone;
  std::string text;  ///< what the agent says (may be empty: no reply)
  std::optional<ToolRequest> tool;
  std::optional<std::size_t> knowledge_entry;  ///< for kKnowledge
  [[nodiscard]] bool ends_call() const {
    return tool &&
           (tool->name == "end_call" || tool->name == "transfer_call" || tool->name == "voicemail");
  }
};

struct DialogueOptions {
  /// Lowest BM25 score that counts as an answer (see KnowledgeIndex).
  double min_knowledge_score = 1.2;
};

/// The spoken form of a callback time found in a caller's words ("tomorrow at 3 pm",
/// "monday morning", "today at 10:30 am", "3 o'clock"), or nullopt when they name none.
/// Input is recogniser-style text (lower-case words, numbers spelled out) or digits.
std::optional<std::string> ExtractCallbackTime(std::string_view text);

/// Sentences for the agent's domain language model: the knowledge base (questions and answers),
/// how callers ask for each tool, yes/no, callback times, and common call phrases. Only words in
/// these sentences can be recognised.
std::vector<std::string> DialogueCorpus(const agent::AgentConfig& agent);

/// The local engine's conversation logic: deterministic intents for the tools, retrieval over the
/// knowledge base, a transfer offer when nothing matches, inappropriate-language counting and
/// silence handling. Pure (text in, reply out): no audio, no clock, no I/O.
/// Thread-compatible; one per call.
class Dialogue {
 public:
  /// `agent` must outlive the dialogue. `caller_phone` goes into schedule_callback's "phone".
  Dialogue(const agent::AgentConfig& agent, std::string caller_phone, DialogueOptions options = {});

  /// The first line of the call: agent.first_message, or a greeting with the agent's name.
  Reply Greeting();
  /// The reply to one final caller utterance. Empty text gives an empty reply (kNone).
  Reply OnCallerText(std::string_view text);
  /// The caller has been silent for a silence period: the first time (since they last spoke)
  /// "Are you still there?", the second time a polite ending with end_call.
  Reply OnSilence();
  /// The runtime could not run a call-ending tool of the last reply (no transfer number, no
  /// voicemail): the call goes on with an apology and "anything else?". Other tools: no reply.
  Reply OnToolFailed(std::string_view tool_name);

  /// True once a reply carried a call-ending tool; later input gets empty replies.
  [[nodiscard]] bool ended() const { return ended_; }
  [[nodiscard]] int inappropriate_count() const { return inappropriate_count_; }
  [[nodiscard]] const KnowledgeIndex& index() const { return index_; }

 private:
  enum class Pending : uint8_t { kNone, kTransferOffer, kAnythingElse };

  Reply Finish(Reply reply);

  const agent::AgentConfig& agent_;
  std::string caller_phone_;
  DialogueOptions options_;
  KnowledgeIndex index_;
  Pending pending_ = Pending::kNone;
  int inappropriate_count_ = 0;
  int silence_count_ = 0;
  bool ended_ = false;
};

}  // namespace tempo::engine::local
