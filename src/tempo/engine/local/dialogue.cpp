#include "tempo/engine/local/dialogue.hpp"

#include "tempo/base/json_text.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/engine/local/lm_builder.hpp"
#include "tempo/knowledge/words.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>

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
constexpr std::string_view kAskNumberLine =
    "What number should we call you back on? You can say it or key it in.";
constexpr std::string_view kAskNumberAgainLine =
    "Sorry, I didn't get that. Please say your phone number one digit at a time, or key it in.";
constexpr std::string_view kNoNumberLine =
    "I'm sorry, I couldn't get your number. Is there anything else I can help you with?";
constexpr std::string_view kAskTimeLine = "When would be a good time to call you back?";
constexpr std::string_view kDeclineLine = "I'm sorry, I can't help with that.";

// A phone number has at least this many digits (a local number without area code).
constexpr std::size_t kMinPhoneDigits = 7;
constexpr std::size_t kMaxPhoneDigits = 15;

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

// A goodbye phrase counts only when nothing but courtesy follows it: "okay bye", "that's all,
// thank you", but not "bye, I have a question" (a misheard "I have a question" must not hang
// up on the caller).
bool IsGoodbye(const std::string& s) {
  static constexpr std::array<std::string_view, 10> kPhrases = {"bye",
                                                                "goodbye",
                                                                "good bye",
                                                                "that's all",
                                                                "that is all",
                                                                "that will be all",
                                                                "that's it",
                                                                "nothing else",
                                                                "have a good day",
                                                                "have a nice day"};
  static constexpr std::array<std::string_view, 16> kCourtesy = {
      "thanks", "thank", "you", "so",    "much", "very", "a",    "nice",
      "great",  "good",  "day", "again", "have", "bye",  "okay", "cheers"};
  for (std::string_view phrase : kPhrases) {
    const std::string needle = fmt::format(" {} ", phrase);
    for (std::size_t at = s.find(needle); at != std::string::npos; at = s.find(needle, at + 1)) {
      std::size_t pos = at + needle.size();
      bool courteous = true;
      while (pos < s.size() && courteous) {
        const std::size_t end = s.find(' ', pos);
        const std::string_view word(s.data() + pos, end - pos);
        courteous = std::find(kCourtesy.begin(), kCourtesy.end(), word) != kCourtesy.end();
        pos = end + 1;
      }
      if (courteous) return true;
    }
  }
  return false;
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

bool IsAnyTime(const std::string& s) {
  return HasAny(s, {"any time", "anytime", "whenever", "as soon as possible", "asap",
                    "doesn't matter", "does not matter", "don't mind", "don't care", "soon"});
}

// The digits a caller said ("five five five oh one two three", "555 0123"), in order.
std::string SpokenDigits(const std::vector<std::string>& words) {
  static constexpr std::array<std::string_view, 10> kNames = {
      "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"};
  std::string out;
  for (const auto& w : words) {
    if (w == "oh") {
      out += '0';
      continue;
    }
    if (auto it = std::find(kNames.begin(), kNames.end(), w); it != kNames.end()) {
      out += static_cast<char>('0' + (it - kNames.begin()));
      continue;
    }
    if (std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; })) out += w;
  }
  return out;
}

// "5550123" -> "5 5 5, 0 1 2 3": flite reads separate digits one by one; the commas make the
// usual pauses of a read-back number.
std::string SpeakDigits(std::string_view digits) {
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0) out += (digits.size() - i) % 4 == 0 ? ", " : " ";
    out += digits[i];
  }
  return out;
}

// Words of a rule that say how something is forbidden, not what.
bool IsGenericRuleWord(std::string_view term) {
  static constexpr std::array<std::string_view, 24> kGeneric = {
      "never",   "not",    "don't",    "dont",  "avoid",   "must",     "give",   "share",
      "provide", "offer",  "discuss",  "talk",  "mention", "disclose", "reveal", "make",
      "say",     "answer", "question", "other", "anyone",  "anything", "ever",   "caller"};
  return std::find(kGeneric.begin(), kGeneric.end(), term) != kGeneric.end();
}

// Retrieval terms for guardrail matching: possessives stripped ("patients'" -> "patient").
std::vector<std::string> GuardrailTerms(std::string_view text) {
  std::vector<std::string> out;
  for (std::string w : knowledge::NormalizeWords(text)) {
    if (w.ends_with("'s")) w.resize(w.size() - 2);
    while (!w.empty() && w.back() == '\'') w.pop_back();
    std::string term = knowledge::RetrievalTerm(w);
    if (term.empty() || IsGenericRuleWord(w) || IsGenericRuleWord(term)) continue;
    if (std::find(out.begin(), out.end(), term) == out.end()) out.push_back(std::move(term));
  }
  return out;
}

// White space at both ends and the punctuation a spoken sentence ends with.
std::string_view TrimSentence(std::string_view s) {
  s = Trim(s);
  while (!s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == ',')) {
    s = Trim(s.substr(0, s.size() - 1));
  }
  return s;
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
    case Intent::kGuardrail:
      return "guardrail";
    case Intent::kQuestion:
      return "question";
    case Intent::kFallback:
      return "fallback";
  }
  return "none";
}

std::optional<GuardrailRule> ParseGuardrail(std::string_view sentence) {
  const std::string lower = Lower(TrimSentence(sentence));
  std::string_view rest = lower;
  for (std::string_view lead : {"you must ", "you should ", "you ", "please "}) {
    if (rest.starts_with(lead)) rest.remove_prefix(lead.size());
  }
  bool prohibition = false;
  for (std::string_view neg : {"never ", "do not ", "don't ", "dont ", "must not ", "avoid ", "no ",
                               "refuse to ", "do not ever "}) {
    if (rest.starts_with(neg)) {
      rest.remove_prefix(neg.size());
      prohibition = true;
      break;
    }
  }
  if (!prohibition) return std::nullopt;
  GuardrailRule rule;
  rule.sentence = std::string(sentence);
  // "X; instead Y", "X; Y instead", "X, instead Y", "X - Y instead".
  std::string_view forbidden = rest;
  std::string_view instead;
  for (std::string_view sep : {";", " - ", ", instead ", ". "}) {
    if (auto at = rest.find(sep); at != std::string_view::npos) {
      forbidden = rest.substr(0, at);
      instead = rest.substr(at + sep.size());
      if (sep == ", instead ") instead = rest.substr(at + 2);
      break;
    }
  }
  std::string alt(TrimSentence(instead));
  for (std::string_view filler : {"instead, ", "instead ", "but ", "and ", "rather "}) {
    if (std::string_view(alt).starts_with(filler)) alt.erase(0, filler.size());
  }
  if (std::string_view(alt).ends_with(" instead")) alt.resize(alt.size() - 8);
  rule.instead = std::string(TrimSentence(alt));
  rule.forbidden = std::string(TrimSentence(forbidden));
  rule.topic = GuardrailTerms(rule.forbidden);
  if (rule.topic.empty()) return std::nullopt;
  return rule;
}

bool IsCallbackNumber(std::string_view phone) {
  // Withheld caller ids arrive as keypad spellings: ANONYMOUS, UNAVAILABLE, RESTRICTED.
  for (std::string_view withheld : {"+266696687", "+86282452253", "+7378742833"}) {
    if (phone == withheld) return false;
  }
  std::size_t digits = 0;
  for (std::size_t i = 0; i < phone.size(); ++i) {
    const char c = phone[i];
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (!(c == '+' && i == 0)) {
      return false;
    }
  }
  const std::size_t min = phone.starts_with('+') ? 8 : 10;
  return digits >= min && digits <= kMaxPhoneDigits;
}

std::optional<std::string> ExtractCallbackTime(std::string_view text) {
  const std::vector<std::string> w = knowledge::NormalizeWords(text);
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
  // Answers to the callback questions: a number digit by digit, a time, or no preference.
  static constexpr std::array<std::string_view, 8> kAnswers = {
      "Tomorrow at three p m.", "Tomorrow morning.", "Monday afternoon.", "At ten thirty a m.",
      "Friday at two.",         "Any time.",         "Whenever.",         "As soon as possible."};
  for (std::string_view p : kAnswers) corpus.emplace_back(p);
  // How callers ask for what a guardrail rule forbids, so that the words can be recognised.
  for (const auto& sentence : agent.guardrails) {
    if (auto rule = ParseGuardrail(sentence)) {
      corpus.push_back(fmt::format("Can you {}?", rule->forbidden));
    }
  }
  return corpus;
}

Dialogue::Dialogue(const agent::AgentConfig& agent, std::string caller_phone,
                   DialogueOptions options)
    : agent_(agent),
      caller_phone_(std::move(caller_phone)),
      options_(options),
      index_(agent.knowledge_base) {
  for (const auto& sentence : agent.guardrails) {
    if (auto rule = ParseGuardrail(sentence)) rules_.push_back(std::move(*rule));
  }
}

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

Expect Dialogue::expecting() const {
  switch (pending_) {
    case Pending::kTransferOffer:
      return Expect::kYesNo;
    case Pending::kCallbackNumber:
      return Expect::kDigits;
    case Pending::kCallbackTime:
      return Expect::kTime;
    case Pending::kNone:
    case Pending::kAnythingElse:
      return Expect::kOpen;
  }
  return Expect::kOpen;
}

const GuardrailRule* Dialogue::MatchGuardrail(std::string_view text) const {
  if (rules_.empty()) return nullptr;
  const std::vector<std::string> said = GuardrailTerms(text);
  for (const auto& rule : rules_) {
    std::size_t hits = 0;
    for (const auto& t : rule.topic) {
      if (std::find(said.begin(), said.end(), t) != said.end()) ++hits;
    }
    // One word of a one-word topic ("politics"), two of a longer one: "medical" alone is a
    // question about the clinic, "medical advice" is the forbidden thing.
    if (hits >= std::min<std::size_t>(2, rule.topic.size())) return &rule;
  }
  return nullptr;
}

Reply Dialogue::ContinueCallback(Intent intent) {
  Reply reply;
  reply.intent = intent;
  CallbackDraft& draft = *callback_;
  if (!draft.number_given && !IsCallbackNumber(draft.phone)) {
    reply.intent = Intent::kQuestion;
    reply.text = std::string(kAskNumberLine);
    pending_ = Pending::kCallbackNumber;
    return reply;
  }
  if (!draft.time && !draft.time_asked) {
    draft.time_asked = true;
    reply.intent = Intent::kQuestion;
    reply.text = std::string(kAskTimeLine);
    pending_ = Pending::kCallbackTime;
    return reply;
  }
  nlohmann::json args = {{"phone", draft.phone}};
  if (draft.time) args["time"] = *draft.time;
  args["note"] = draft.note;
  reply.intent = Intent::kCallback;
  reply.tool = ToolRequest{"schedule_callback", DumpJson(args)};
  // Spoken "3 pm" as letters: flite would otherwise read "pm" as a word.
  std::string spoken = draft.time ? *draft.time : "as soon as possible";
  for (std::string_view unit : {" pm", " am"}) {
    if (auto at = spoken.find(unit); at != std::string::npos) {
      spoken.replace(at, unit.size(), unit == " pm" ? " p m" : " a m");
    }
  }
  // A number the caller gave is read back; the one they call from goes without saying.
  const std::string on =
      !draft.number_given
          ? std::string()
          : " on " + SpeakDigits(draft.phone.substr(draft.phone.starts_with('+') ? 1 : 0));
  reply.text = fmt::format("I'll arrange for someone to call you back {}{}. {}", spoken, on,
                           kAnythingElseLine);
  pending_ = Pending::kAnythingElse;
  callback_.reset();
  return reply;
}

Reply Dialogue::OnNumberAnswer(const std::string& digits) {
  if (digits.size() >= kMinPhoneDigits && digits.size() <= kMaxPhoneDigits) {
    callback_->phone = digits;
    callback_->number_given = true;
    return ContinueCallback(Intent::kCallback);
  }
  Reply reply;
  reply.intent = Intent::kQuestion;
  if (++callback_->failed_number_attempts < 2) {
    reply.text = std::string(kAskNumberAgainLine);
    pending_ = Pending::kCallbackNumber;
    return reply;
  }
  callback_.reset();
  reply.text = std::string(kNoNumberLine);
  pending_ = Pending::kAnythingElse;
  return reply;
}

Reply Dialogue::OnCallerText(std::string_view text, std::string_view closed_text) {
  if (ended_) return {};
  const std::vector<std::string> words = knowledge::NormalizeWords(text);
  const std::vector<std::string> closed = knowledge::NormalizeWords(closed_text);
  if (words.empty() && closed.empty()) return {};
  silence_count_ = 0;
  keyed_digits_.clear();
  const std::string s = Padded(words);
  const std::string cs = Padded(closed);
  const Pending pending = std::exchange(pending_, Pending::kNone);
  // Asking for a person, voicemail or saying goodbye leaves a callback's questions unanswered.
  const bool leaves_callback = IsHuman(s) || IsGoodbye(s) || IsVoicemail(s);
  Reply reply;

  if (IsInappropriate(s)) {
    ++inappropriate_count_;
    reply.intent = Intent::kInappropriate;
    if (inappropriate_count_ >= agent_.max_inappropriate_attempts) {
      reply.text = "I'm sorry, but I have to end this call now. " + agent_.ClosingLine();
      reply.tool = ToolRequest{"end_call", R"({"reason":"inappropriate language"})"};
    } else {
      reply.text = std::string(kWarningLine);
      pending_ = pending;  // the question before the warning still stands
    }
    return Finish(std::move(reply));
  }
  // The answer to the callback's questions comes first: a time or a number is what we asked.
  if (pending == Pending::kCallbackNumber && callback_) {
    std::string digits = SpokenDigits(words);
    bool from_grammar = false;
    if (digits.size() < kMinPhoneDigits) {
      std::string closed_digits = SpokenDigits(closed);
      from_grammar = closed_digits.size() > digits.size();
      if (from_grammar) digits = std::move(closed_digits);
    }
    if (digits.size() >= kMinPhoneDigits || !leaves_callback) {
      Reply r = OnNumberAnswer(digits);
      r.from_closed_grammar = from_grammar;
      return Finish(std::move(r));
    }
    callback_.reset();
  }
  if (pending == Pending::kCallbackTime && callback_) {
    std::optional<std::string> when = ExtractCallbackTime(text);
    bool from_grammar = false;
    if (!when && !IsAnyTime(s) && !leaves_callback) {
      when = ExtractCallbackTime(closed_text);
      from_grammar = when.has_value();
    }
    if (when || !leaves_callback) {
      // No time named ("any time", "I don't know"): as soon as possible, not asking again.
      callback_->time = when;
      Reply r = ContinueCallback(Intent::kCallback);
      r.from_closed_grammar = from_grammar;
      return Finish(std::move(r));
    }
    callback_.reset();
  }
  if (IsCallback(s)) {
    callback_ = CallbackDraft{caller_phone_, ExtractCallbackTime(text), std::string(text)};
    return Finish(ContinueCallback(Intent::kCallback));
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
  auto answer_offer = [&](const std::string& said) -> std::optional<Reply> {
    if (IsYes(said)) {
      Reply r;
      r.intent = Intent::kYes;
      r.text = std::string(kTransferLine);
      r.tool = ToolRequest{"transfer_call", R"({"reason":"unanswered question"})"};
      return r;
    }
    if (IsNo(said)) {
      Reply r;
      r.intent = Intent::kNo;
      r.text = std::string(kAnythingElseLine);
      pending_ = Pending::kAnythingElse;
      return r;
    }
    return std::nullopt;
  };
  if (pending == Pending::kTransferOffer) {
    if (auto r = answer_offer(s)) return Finish(std::move(*r));
  }
  if (IsGoodbye(s) || (pending == Pending::kAnythingElse && IsNo(s) && !IsYes(s))) {
    reply.intent = Intent::kGoodbye;
    reply.text = agent_.ClosingLine();
    reply.tool = ToolRequest{"end_call", R"({"reason":"caller said goodbye"})"};
    return Finish(std::move(reply));
  }
  if (const GuardrailRule* rule = MatchGuardrail(text)) {
    reply.intent = Intent::kGuardrail;
    reply.text = std::string(kDeclineLine);
    if (!rule->instead.empty()) reply.text += fmt::format(" Instead, I can {}.", rule->instead);
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
  // The open decoding answered nothing: the closed grammar's reading of the same audio may.
  if (pending == Pending::kTransferOffer && !closed.empty()) {
    if (auto r = answer_offer(cs)) {
      r->from_closed_grammar = true;
      return Finish(std::move(*r));
    }
  }
  reply.intent = Intent::kFallback;
  reply.text = std::string(kFallbackLine);
  pending_ = Pending::kTransferOffer;
  return Finish(std::move(reply));
}

Reply Dialogue::OnDtmf(char digit) {
  if (ended_) return {};
  silence_count_ = 0;
  if (pending_ == Pending::kCallbackNumber && callback_) {
    if (digit >= '0' && digit <= '9') {
      keyed_digits_ += digit;
      if (keyed_digits_.size() < kMaxPhoneDigits) return {};
    } else if (digit != '#') {
      return {};
    }
    return OnDtmfPause();
  }
  if (digit == '0') return OnCallerText("transfer me to a person");
  return {};
}

Reply Dialogue::OnDtmfPause() {
  if (ended_ || pending_ != Pending::kCallbackNumber || !callback_) return {};
  const std::string digits = std::exchange(keyed_digits_, {});
  pending_ = Pending::kNone;
  return Finish(OnNumberAnswer(digits));
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
