#include "tempo/engine/local/dialogue.hpp"

#include "tempo/engine/local/lm_builder.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>

namespace tempo::engine::local {
namespace {

constexpr std::string_view kTransferLine = "Let me transfer you to a member of our team.";
constexpr std::string_view kVoicemailLine = "Of course. I will take you to our voicemail.";
constexpr std::string_view kFallbackLine =
    "I'm not sure about that. Would you like me to transfer you to a member of our team?";
constexpr std::string_view kAnythingElseLine = "Is there anything else I can help you with?";
constexpr std::string_view kStillThereLine = "Are you still there?";
constexpr std::string_view kWarningLine =
    "Please keep our conversation respectful, or I will have to end this call.";

// Lower-case words joined by single spaces, padded with a space each side, so that a phrase
// matches on word boundaries with a plain substring search.
std::string Padded(const std::vector<std::string>& words) {
  std::string out = " ";
  for (const auto& w : words) {
    out += w;
    out += ' ';
  }
  return out;
}

bool HasAny(const std::string& padded, std::initializer_list<std::string_view> phrases) {
  return std::any_of(phrases.begin(), phrases.end(), [&](std::string_view p) {
    return padded.find(fmt::format(" {} ", p)) != std::string::npos;
  });
}

bool IsGoodbye(const std::string& s) {
  return HasAny(s, {"bye", "goodbye", "good bye", "that's all", "that is all", "that will be all",
                    "that's it", "nothing else", "have a good day", "have a nice day"});
}
bool IsHuman(const std::string& s) {
  return HasAny(
      s, {"human", "person", "agent", "representative", "operator", "someone", "somebody", "anyone",
          "receptionist", "transfer me", "member of your team", "member of staff", "real person"});
}
bool IsVoicemail(const std::string& s) {
  return HasAny(s, {"voicemail", "voice mail", "leave a message", "leave message", "take a message",
                    "leave a voice message", "record a message"});
}
bool IsCallback(const std::string& s) {
  return HasAny(s, {"call me back", "call back", "callback", "ring me back", "call me later",
                    "give me a call", "call me tomorrow", "call me today", "return my call"});
}
bool IsInappropriate(const std::string& s) {
  return HasAny(s, {"stupid", "idiot", "moron", "dumb", "shut up", "damn", "crap", "useless",
                    "hate you", "screw you"});
}
bool IsYes(const std::string& s) {
  return HasAny(s, {"yes", "yeah", "yep", "sure", "okay", "ok", "please do", "correct", "go ahead",
                    "alright", "all right"});
}
bool IsNo(const std::string& s) {
  return HasAny(s, {"no", "nope", "not really", "no thanks", "don't", "do not"});
}

struct NumberWord {
  std::string_view word;
  int value;
};
constexpr std::array<NumberWord, 19> kHourWords = {{
    {"one", 1},     {"two", 2},     {"three", 3}, {"four", 4}, {"five", 5},
    {"six", 6},     {"seven", 7},   {"eight", 8}, {"nine", 9}, {"ten", 10},
    {"eleven", 11}, {"twelve", 12}, {"noon", 12}, {"1", 1},    {"2", 2},
    {"3", 3},       {"4", 4},       {"5", 5},     {"6", 6},
}};
constexpr std::array<NumberWord, 9> kMinuteWords = {{
    {"fifteen", 15},
    {"thirty", 30},
    {"forty", 40},
    {"fifty", 50},
    {"twenty", 20},
    {"ten", 10},
    {"five", 5},
    {"forty-five", 45},
    {"oh", 0},
}};

std::optional<int> Lookup(std::span<const NumberWord> table, std::string_view w) {
  for (const auto& n : table) {
    if (n.word == w) return n.value;
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 7> kWeekdays = {
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};

}  // namespace

std::string_view ToString(Intent intent) {
  switch (intent) {
    case Intent::kNone:
      return "none";
    case Intent::kGoodbye:
      return "goodbye";
    case Intent::kHuman:
      return "human";
    case Intent::kVoicemail:
      return "voicemail";
    case Intent::kCallback:
      return "callback";
    case Intent::kKnowledge:
      return "knowledge";
    case Intent::kYes:
      return "yes";
    case Intent::kNo:
      return "no";
    case Intent::kInappropriate:
      return "inappropriate";
    case Intent::kFallback:
      return "fallback";
  }
  return "none";
}

std::optional<std::string> ExtractCallbackTime(std::string_view text) {
  const std::vector<std::string> w = NormalizeWords(text);
  std::string day;
  std::string part;
  std::string clock;
  for (std::size_t i = 0; i < w.size(); ++i) {
    const std::string& word = w[i];
    if (word == "today" || word == "tomorrow" || word == "tonight") {
      day = word;
    } else if (std::find(kWeekdays.begin(), kWeekdays.end(), word) != kWeekdays.end()) {
      day = (i > 0 && w[i - 1] == "next") ? "next " + word : word;
    } else if (word == "morning" || word == "afternoon" || word == "evening") {
      part = word;
    } else if (word == "noon" && (i == 0 || w[i - 1] != "after")) {
      clock = "noon";
    } else if (clock.empty()) {
      const auto hour = Lookup(kHourWords, word);
      if (!hour) continue;
      // A number is a time only after "at"/"around" or before a time unit.
      std::size_t j = i + 1;
      int minute = -1;
      if (j < w.size()) {
        if (w[j] == "oh" && j + 1 < w.size()) {
          if (auto m = Lookup(kHourWords, w[j + 1]); m && *m < 10) {
            minute = *m;
            j += 2;
          }
        } else if (auto m = Lookup(kMinuteWords, w[j]); m && w[j] != "oh") {
          minute = *m;
          ++j;
          if ((*m == 20 || *m == 30 || *m == 40 || *m == 50) && j < w.size()) {
            if (auto unit = Lookup(kHourWords, w[j]); unit && *unit < 10) {
              minute += *unit;
              ++j;
            }
          }
        }
      }
      std::string suffix;
      if (j + 1 < w.size() && (w[j] == "p" || w[j] == "a") && w[j + 1] == "m") {
        suffix = w[j] == "p" ? " pm" : " am";
      } else if (j < w.size() && (w[j] == "pm" || w[j] == "am")) {
        suffix = " " + w[j];
      } else if (j < w.size() && (w[j] == "o'clock" || w[j] == "oclock")) {
        suffix = " o'clock";
      } else if (j + 1 < w.size() && w[j] == "o" && w[j + 1] == "clock") {
        suffix = " o'clock";
      }
      const bool after_at = i > 0 && (w[i - 1] == "at" || w[i - 1] == "around" ||
                                      w[i - 1] == "about" || w[i - 1] == "after");
      if (suffix.empty() && !after_at) continue;
      if (minute > 0 || (minute == 0 && suffix != " o'clock")) {
        clock = fmt::format("{}:{:02}{}", *hour, minute, suffix == " o'clock" ? "" : suffix);
      } else {
        clock = fmt::format("{}{}", *hour, suffix);
      }
    }
  }
  if (day.empty() && part.empty() && clock.empty()) return std::nullopt;
  std::string out;
  if (!day.empty()) out = day;
  if (!part.empty()) {
    if (day == "today") {
      out = "this " + part;
    } else if (day.empty()) {
      out = "in the " + part;
    } else {
      out += " " + part;
    }
  }
  if (!clock.empty()) {
    if (!out.empty()) out += ' ';
    out += "at " + clock;
  }
  return out;
}

std::vector<std::string> DialogueCorpus(const agent::AgentConfig& agent) {
  std::vector<std::string> corpus;
  for (const auto& e : agent.knowledge_base) {
    if (!e.question.empty()) corpus.push_back(e.question);
    if (!e.answer.empty()) corpus.push_back(e.answer);
  }
  static constexpr std::array<std::string_view, 88> kPhrases = {
      // Goodbye.
      "Goodbye.", "Bye.", "Bye bye.", "Okay bye.", "Thank you, goodbye.", "Thanks, bye.",
      "That's all, thank you.", "That is all.", "No, that's all.", "That will be all, thanks.",
      "Nothing else, thank you.", "Have a nice day.",
      // A person.
      "I would like to talk to a human.", "Can I speak to a person?", "Let me talk to someone.",
      "I want to speak to a human please.", "Can I talk to a real person?",
      "Transfer me to an agent.", "Can I speak to a representative?",
      "Put me through to an operator.", "I need to speak to someone.",
      "Can I talk to the receptionist?", "Connect me to a member of your team.",
      // Voicemail.
      "Can I leave a message?", "I would like to leave a message.", "I want to leave a voicemail.",
      "Can you take a message?", "Let me leave a voice mail.",
      // Callback.
      "Please call me back.", "Can you call me back?", "Call me back tomorrow at 3 pm.",
      "Can you call me back tomorrow morning?", "Please call me back tomorrow afternoon.",
      "Could someone call me back this afternoon?", "Call me back on Monday.",
      "Can you call me back on Tuesday at ten thirty?", "Call me back at four o'clock.",
      "Please call me back at eleven a m.", "Call me back next Wednesday in the evening.",
      "Call me back on Thursday morning.", "Call me back on Friday at two pm.",
      "Call me back on Saturday.", "Call me back today at five.", "I would like a callback.",
      "Give me a call tomorrow.", "Ring me back later.",
      // Yes / no.
      "Yes.", "Yes please.", "Yeah.", "Yeah sure.", "Sure.", "Okay.", "Yes, that would be great.",
      "No.", "No thank you.", "No thanks.", "Nope.", "Not really.",
      // Inappropriate language (counted by the guardrail).
      "You are stupid.", "You idiot.", "Shut up.", "This is useless.", "Damn it.",
      "You are a moron.", "I hate you.",
      // Common questions and call phrases.
      "What are your opening hours?", "What time do you open?", "What time do you close?",
      "When are you open?", "Are you open today?", "Where are you located?",
      "What is your address?", "How much does it cost?", "How much is it?", "What is the price?",
      "Do you have any availability?", "I have a question.", "Can you help me?",
      "Can you tell me about your prices?", "I would like some information.", "Hello?", "Hi.",
      "Hello, are you there?", "Sorry, can you repeat that?", "I didn't hear you.",
      "My phone number is 5 5 5 0 1 2 3.", "Thank you.", "Thank you very much."};
  for (std::string_view p : kPhrases) corpus.emplace_back(p);
  return corpus;
}

Dialogue::Dialogue(const agent::AgentConfig& agent, std::string caller_phone,
                   DialogueOptions options)
    : agent_(agent),
      caller_phone_(std::move(caller_phone)),
      options_(options),
      index_(agent.knowledge_base) {}

Reply Dialogue::Greeting() {
  Reply reply;
  reply.text =
      !agent_.first_message.empty()
          ? agent_.first_message
          : fmt::format("Hello, thank you for calling {}. How can I help you?", agent_.agent_name);
  return reply;
}

Reply Dialogue::Finish(Reply reply) {
  if (reply.ends_call()) ended_ = true;
  return reply;
}

Reply Dialogue::OnCallerText(std::string_view text) {
  if (ended_) return {};
  const std::vector<std::string> words = NormalizeWords(text);
  if (words.empty()) return {};
  silence_count_ = 0;
  const std::string s = Padded(words);
  const Pending pending = std::exchange(pending_, Pending::kNone);
  Reply reply;

  if (IsInappropriate(s)) {
    ++inappropriate_count_;
    reply.intent = Intent::kInappropriate;
    if (inappropriate_count_ >= agent_.max_inappropriate_attempts) {
      reply.text = "I'm sorry, but I have to end this call now. " + agent_.ClosingLine();
      reply.tool = ToolRequest{"end_call", R"({"reason":"inappropriate language"})"};
    } else {
      reply.text = std::string(kWarningLine);
    }
    return Finish(std::move(reply));
  }
  if (IsCallback(s)) {
    reply.intent = Intent::kCallback;
    const std::optional<std::string> when = ExtractCallbackTime(text);
    nlohmann::json args = {{"phone", caller_phone_}};
    if (when) args["time"] = *when;
    args["note"] = std::string(text);
    reply.tool = ToolRequest{"schedule_callback", args.dump()};
    // Spoken "3 pm" as letters: flite would otherwise read "pm" as a word.
    std::string spoken = when ? *when : "as soon as possible";
    for (std::string_view unit : {" pm", " am"}) {
      if (auto at = spoken.find(unit); at != std::string::npos) {
        spoken.replace(at, unit.size(), unit == " pm" ? " p m" : " a m");
      }
    }
    reply.text =
        fmt::format("I'll arrange for someone to call you back {}. {}", spoken, kAnythingElseLine);
    pending_ = Pending::kAnythingElse;
    return Finish(std::move(reply));
  }
  if (IsVoicemail(s)) {
    reply.intent = Intent::kVoicemail;
    reply.text = std::string(kVoicemailLine);
    reply.tool = ToolRequest{"voicemail", "{}"};
    return Finish(std::move(reply));
  }
  if (IsHuman(s)) {
    reply.intent = Intent::kHuman;
    reply.text = std::string(kTransferLine);
    reply.tool = ToolRequest{"transfer_call", R"({"reason":"caller asked for a person"})"};
    return Finish(std::move(reply));
  }
  if (pending == Pending::kTransferOffer) {
    if (IsYes(s)) {
      reply.intent = Intent::kYes;
      reply.text = std::string(kTransferLine);
      reply.tool = ToolRequest{"transfer_call", R"({"reason":"unanswered question"})"};
      return Finish(std::move(reply));
    }
    if (IsNo(s)) {
      reply.intent = Intent::kNo;
      reply.text = std::string(kAnythingElseLine);
      pending_ = Pending::kAnythingElse;
      return Finish(std::move(reply));
    }
  }
  if (IsGoodbye(s) || (pending == Pending::kAnythingElse && IsNo(s) && !IsYes(s))) {
    reply.intent = Intent::kGoodbye;
    reply.text = agent_.ClosingLine();
    reply.tool = ToolRequest{"end_call", R"({"reason":"caller said goodbye"})"};
    return Finish(std::move(reply));
  }
  if (auto match = index_.Best(text, options_.min_knowledge_score)) {
    reply.intent = Intent::kKnowledge;
    reply.knowledge_entry = match->entry;
    reply.text = agent_.knowledge_base[match->entry].answer;
    return Finish(std::move(reply));
  }
  if (pending == Pending::kAnythingElse && IsYes(s)) {
    reply.intent = Intent::kYes;
    reply.text = "Sure, what can I help you with?";
    return Finish(std::move(reply));
  }
  reply.intent = Intent::kFallback;
  reply.text = std::string(kFallbackLine);
  pending_ = Pending::kTransferOffer;
  return Finish(std::move(reply));
}

Reply Dialogue::OnSilence() {
  if (ended_) return {};
  Reply reply;
  if (++silence_count_ == 1) {
    reply.text = std::string(kStillThereLine);
    return reply;
  }
  reply.text =
      "I haven't heard anything for a while, so I will end the call now. " + agent_.ClosingLine();
  reply.tool = ToolRequest{"end_call", R"({"reason":"caller silent"})"};
  return Finish(std::move(reply));
}

Reply Dialogue::OnToolFailed(std::string_view tool_name) {
  if (tool_name != "transfer_call" && tool_name != "voicemail") return {};
  ended_ = false;
  pending_ = Pending::kAnythingElse;
  Reply reply;
  reply.text = tool_name == "transfer_call"
                   ? "I'm sorry, nobody from our team can take your call right now. "
                     "Is there anything else I can help you with?"
                   : "I'm sorry, I can't take a message right now. "
                     "Is there anything else I can help you with?";
  return reply;
}

}  // namespace tempo::engine::local
