#pragma once

#include "tempo/agent/agent_config.hpp"
#include "tempo/knowledge/knowledge_index.hpp"

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
  kGuardrail,      ///< asked for something a custom guardrail rule forbids
  kQuestion,       ///< the dialogue asks the caller something (callback number or time)
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
  bool from_closed_grammar = false;  ///< based on the closed grammar's reading, not the LM's
  [[nodiscard]] bool ends_call() const {
    return tool &&
           (tool->name == "end_call" || tool->name == "transfer_call" || tool->name == "voicemail");
  }
};

/// What kind of answer the dialogue waits for after its last reply. The engine decodes such an
/// answer with the matching closed grammar too (see Dialogue::OnCallerText).
enum class Expect : uint8_t {
  kOpen,    ///< anything: the domain language model only
  kYesNo,   ///< yes or no (the transfer offer)
  kDigits,  ///< a phone number, spoken digit by digit or keyed in
  kTime,    ///< when to call back
};

/// A custom guardrail sentence the local engine can enforce: a prohibition ("Never give medical
/// advice; suggest an appointment instead.", "Do not discuss pricing of competitors.") becomes a
/// topic whose content words, when the caller uses enough of them, make the agent decline.
/// Other sentences ("Always be polite") are for language-model engines and are not enforced.
struct GuardrailRule {
  std::string sentence;            ///< as the agent's configuration gives it
  std::string forbidden;           ///< "give medical advice"
  std::vector<std::string> topic;  ///< retrieval terms of the forbidden part: {"medic", "advic"}
  std::string instead;             ///< "suggest an appointment" (may be empty)
};
/// The rule in `sentence`, or nullopt when it is not a prohibition the engine can enforce.
std::optional<GuardrailRule> ParseGuardrail(std::string_view sentence);

/// True for a number the agent can call back: E.164 ("+" and 8-15 digits) or 10-15 digits.
/// Twilio's withheld-number placeholders ("anonymous", "+266696687", "client:...") are not.
bool IsCallbackNumber(std::string_view phone);

struct DialogueOptions {
  /// Lowest BM25 score that counts as an answer (see KnowledgeIndex).
  double min_knowledge_score = knowledge::kMinAnswerScore;
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
  /// `closed_text` is the same audio decoded with the grammar of expecting(), if it is not
  /// kOpen; it is used only where `text` answers nothing (a turn that would otherwise end in
  /// the "I'm not sure" fallback, or a callback time/number the open text does not contain),
  /// because a closed grammar forces any speech onto its own sentences.
  Reply OnCallerText(std::string_view text, std::string_view closed_text = {});
  /// A key the caller pressed: digits while the dialogue collects a callback number ('#' ends
  /// the entry), otherwise '0' asks for a person. Other keys get an empty reply.
  Reply OnDtmf(char digit);
  /// The caller stopped keying in digits for a while: the entry so far is taken as the number.
  Reply OnDtmfPause();
  /// What the dialogue waits for now.
  [[nodiscard]] Expect expecting() const;
  /// True while keyed-in digits are being collected (the engine times the pause).
  [[nodiscard]] bool collecting_digits() const { return !keyed_digits_.empty(); }
  /// The caller has been silent for a silence period: the first time (since they last spoke)
  /// "Are you still there?", the second time a polite ending with end_call.
  Reply OnSilence();
  /// The runtime could not run a call-ending tool of the last reply (no transfer number, no
  /// voicemail): the call goes on with an apology and "anything else?". Other tools: no reply.
  Reply OnToolFailed(std::string_view tool_name);

  /// True once a reply carried a call-ending tool; later input gets empty replies.
  [[nodiscard]] bool ended() const { return ended_; }
  [[nodiscard]] int inappropriate_count() const { return inappropriate_count_; }
  [[nodiscard]] const knowledge::KnowledgeIndex& index() const { return index_; }
  [[nodiscard]] const std::vector<GuardrailRule>& guardrails() const { return rules_; }

 private:
  enum class Pending : uint8_t {
    kNone,
    kTransferOffer,
    kAnythingElse,
    kCallbackNumber,
    kCallbackTime,
  };
  /// A callback being arranged over several turns.
  struct CallbackDraft {
    std::string phone;
    std::optional<std::string> time;
    std::string note;
    int failed_number_attempts = 0;
    bool time_asked = false;
    bool number_given = false;  ///< the caller said or keyed in `phone`
  };

  Reply Finish(Reply reply);
  /// Asks for what the callback still lacks, or schedules it.
  Reply ContinueCallback(Intent intent);
  Reply OnNumberAnswer(const std::string& digits);
  const GuardrailRule* MatchGuardrail(std::string_view text) const;

  const agent::AgentConfig& agent_;
  std::string caller_phone_;
  DialogueOptions options_;
  knowledge::KnowledgeIndex index_;
  std::vector<GuardrailRule> rules_;
  Pending pending_ = Pending::kNone;
  std::optional<CallbackDraft> callback_;
  std::string keyed_digits_;
  int inappropriate_count_ = 0;
  int silence_count_ = 0;
  bool ended_ = false;
};

}  // namespace tempo::engine::local
