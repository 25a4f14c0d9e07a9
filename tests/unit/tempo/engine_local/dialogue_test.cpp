#include "tempo/engine/local/dialogue.hpp"

#include "local_call_harness.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tempo::engine::local {
namespace {

using ::testing::HasSubstr;

agent::AgentConfig Agent() { return harness::DentalAgent(); }

nlohmann::json Args(const Reply& r) { return nlohmann::json::parse(r.tool->arguments_json); }

TEST(KnowledgeIndexTest, FindsTheEntryForParaphrases) {
  const auto agent = Agent();
  knowledge::KnowledgeIndex index(agent.knowledge_base);
  struct Case {
    const char* query;
    std::size_t entry;
  };
  for (const Case& c :
       {Case{"what are your opening hours", 0}, Case{"when are you open", 0},
        Case{"what time do you close on saturday", 0}, Case{"where are you located", 1},
        Case{"what is your address", 1}, Case{"how much is a cleaning", 2},
        Case{"what is the price of a cleaning", 2}, Case{"how much does whitening cost", 3},
        Case{"how much is a checkup", 4}, Case{"do you accept insurance", 5},
        Case{"do you treat kids", 6}, Case{"i have a dental emergency", 7}}) {
    auto best = index.Best(c.query, DialogueOptions{}.min_knowledge_score);
    ASSERT_TRUE(best.has_value()) << c.query;
    EXPECT_EQ(best->entry, c.entry) << c.query;
  }
}

TEST(KnowledgeIndexTest, UnrelatedOrEmptyQueriesScoreBelowTheThreshold) {
  const auto agent = Agent();
  knowledge::KnowledgeIndex index(agent.knowledge_base);
  const double min = DialogueOptions{}.min_knowledge_score;
  EXPECT_FALSE(index.Best("what is the meaning of life", min));
  EXPECT_FALSE(index.Best("the weather is nice", min));
  EXPECT_FALSE(index.Best("", min));
  EXPECT_FALSE(index.Best("is it a the of", min));  // stop words only
  knowledge::KnowledgeIndex empty({});
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_FALSE(empty.Best("opening hours", 0.0));
}

TEST(KnowledgeIndexTest, StemsAndSynonyms) {
  EXPECT_EQ(knowledge::RetrievalTerm("cleanings"), "clean");
  EXPECT_EQ(knowledge::RetrievalTerm("costs"), "cost");
  EXPECT_EQ(knowledge::RetrievalTerm("price"), "cost");
  EXPECT_EQ(knowledge::RetrievalTerm("hours"), "open");
  EXPECT_EQ(knowledge::RetrievalTerm("the"), "");
  EXPECT_EQ(knowledge::RetrievalTerm("glass"), "glass");
  // A single-entry knowledge base still answers (the idf stays positive).
  std::vector<agent::KnowledgeEntry> one = {{"Do you have parking?", "Yes, parking is free."}};
  knowledge::KnowledgeIndex index(one);
  EXPECT_TRUE(index.Best("is there parking", DialogueOptions{}.min_knowledge_score));
}

TEST(DialogueTest, GreetsWithFirstMessageOrAgentName) {
  auto agent = Agent();
  EXPECT_EQ(Dialogue(agent, "").Greeting().text, agent.first_message);
  agent.first_message.clear();
  EXPECT_EQ(Dialogue(agent, "").Greeting().text,
            "Hello, thank you for calling Bright Smile Dental. How can I help you?");
}

TEST(DialogueTest, ToolIntents) {
  const auto agent = Agent();
  for (const char* bye :
       {"goodbye", "okay bye", "that's all thank you", "that is all", "bye bye"}) {
    Dialogue d(agent, "+15550100");
    Reply r = d.OnCallerText(bye);
    EXPECT_EQ(r.intent, Intent::kGoodbye) << bye;
    EXPECT_EQ(r.text, agent.ClosingLine());
    ASSERT_TRUE(r.tool);
    EXPECT_EQ(r.tool->name, "end_call");
    EXPECT_TRUE(d.ended());
    EXPECT_TRUE(d.OnCallerText("hello").text.empty()) << "no replies after the end";
  }
  for (const char* not_bye :
       {"bye have a question", "goodbye is not what i want to say i want the price",
        "that's all i need to know about the cost of cleaning"}) {
    EXPECT_NE(Dialogue(agent, "").OnCallerText(not_bye).intent, Intent::kGoodbye) << not_bye;
  }
  for (const char* bye : {"thank you bye", "goodbye have a nice day", "bye bye thanks so much",
                          "no that's all goodbye"}) {
    EXPECT_EQ(Dialogue(agent, "").OnCallerText(bye).intent, Intent::kGoodbye) << bye;
  }
  for (const char* human : {"can i speak to a person", "i want a human", "transfer me to an agent",
                            "representative please", "put me through to an operator"}) {
    Dialogue d(agent, "");
    Reply r = d.OnCallerText(human);
    EXPECT_EQ(r.intent, Intent::kHuman) << human;
    EXPECT_EQ(r.text, "Let me transfer you to a member of our team.");
    EXPECT_EQ(r.tool->name, "transfer_call");
  }
  for (const char* vm : {"can i leave a message", "i want to leave a voicemail", "voice mail"}) {
    Dialogue d(agent, "");
    Reply r = d.OnCallerText(vm);
    EXPECT_EQ(r.intent, Intent::kVoicemail) << vm;
    EXPECT_EQ(r.tool->name, "voicemail");
  }
}

// Regression (fuzz_dialogue): a non-UTF-8 byte in what the caller said reached the
// schedule_callback arguments, whose dump() threw json type_error 316 and ended the call.
TEST(DialogueTest, CallbackNoteWithInvalidUtf8StillGivesJsonArguments) {
  const auto agent = Agent();
  Dialogue d(agent, "+15550100");
  Reply ask = d.OnCallerText("please call me back\x9b");
  EXPECT_EQ(ask.intent, Intent::kQuestion);
  Reply r = d.OnCallerText("monday afternoon");
  ASSERT_TRUE(r.tool);
  EXPECT_EQ(r.tool->name, "schedule_callback");
  const auto args = nlohmann::json::parse(r.tool->arguments_json, nullptr, false);
  ASSERT_FALSE(args.is_discarded()) << r.tool->arguments_json;
  EXPECT_THAT(args.value("note", ""), HasSubstr("please call me back"));
  EXPECT_THAT(r.tool->arguments_json, HasSubstr("\xEF\xBF\xBD"));  // U+FFFD
}

TEST(DialogueTest, CallbackCarriesTimeAndPhone) {
  const auto agent = Agent();
  Dialogue d(agent, "+15550100");
  Reply r = d.OnCallerText("can you call me back tomorrow at three p m");
  EXPECT_EQ(r.intent, Intent::kCallback);
  ASSERT_TRUE(r.tool);
  EXPECT_EQ(r.tool->name, "schedule_callback");
  EXPECT_EQ(Args(r)["time"], "tomorrow at 3 pm");
  EXPECT_EQ(Args(r)["phone"], "+15550100");
  EXPECT_THAT(r.text, HasSubstr("I'll arrange for someone to call you back tomorrow at 3 p m."));
  EXPECT_FALSE(d.ended());
  // "No" to "anything else?" ends the call politely.
  Reply bye = d.OnCallerText("no thank you");
  EXPECT_EQ(bye.intent, Intent::kGoodbye);
  EXPECT_EQ(bye.tool->name, "end_call");

  // Without a time the dialogue asks for one, expecting a time (the time grammar).
  Dialogue plain(agent, "+15550100");
  Reply ask = plain.OnCallerText("please call me back");
  EXPECT_EQ(ask.intent, Intent::kQuestion);
  EXPECT_EQ(ask.text, "When would be a good time to call you back?");
  EXPECT_FALSE(ask.tool);
  EXPECT_EQ(plain.expecting(), Expect::kTime);
  Reply when = plain.OnCallerText("monday afternoon");
  EXPECT_EQ(when.intent, Intent::kCallback);
  EXPECT_EQ(Args(when)["time"], "monday afternoon");
  EXPECT_EQ(Args(when)["note"], "please call me back");
  EXPECT_EQ(plain.expecting(), Expect::kOpen);

  // No preference: as soon as possible, without asking again.
  Dialogue any(agent, "+15550100");
  any.OnCallerText("can you call me back");
  Reply p = any.OnCallerText("any time");
  EXPECT_FALSE(Args(p).contains("time"));
  EXPECT_THAT(p.text, HasSubstr("call you back as soon as possible."));

  // Changing one's mind: a request for a person drops the callback.
  Dialogue mind(agent, "+15550100");
  mind.OnCallerText("call me back");
  EXPECT_EQ(mind.OnCallerText("actually let me talk to a person").intent, Intent::kHuman);
}

TEST(DialogueTest, CallbackAsksForTheNumberOfAWithheldCaller) {
  const auto agent = Agent();
  for (const char* withheld : {"", "anonymous", "+266696687", "client:alice", "+1555"}) {
    EXPECT_FALSE(IsCallbackNumber(withheld)) << withheld;
  }
  for (const char* ok : {"+15550100", "+447700900123", "4155550199"}) {
    EXPECT_TRUE(IsCallbackNumber(ok)) << ok;
  }
  Dialogue d(agent, "anonymous");
  Reply ask = d.OnCallerText("call me back tomorrow at three p m");
  EXPECT_EQ(ask.intent, Intent::kQuestion);
  EXPECT_THAT(ask.text, HasSubstr("What number should we call you back on?"));
  EXPECT_EQ(d.expecting(), Expect::kDigits);
  Reply done = d.OnCallerText("five five five oh one two three");
  ASSERT_TRUE(done.tool);
  EXPECT_EQ(Args(done)["phone"], "5550123");
  EXPECT_EQ(Args(done)["time"], "tomorrow at 3 pm");
  // The number is read back digit by digit.
  EXPECT_THAT(done.text, HasSubstr("tomorrow at 3 p m on 5 5 5, 0 1 2 3."));

  // Not a number twice: the callback is given up politely.
  Dialogue lost(agent, "");
  lost.OnCallerText("call me back tomorrow");
  EXPECT_THAT(lost.OnCallerText("what").text, HasSubstr("Sorry, I didn't get that"));
  EXPECT_EQ(lost.expecting(), Expect::kDigits);
  Reply gave_up = lost.OnCallerText("hmm");
  EXPECT_THAT(gave_up.text, HasSubstr("couldn't get your number"));
  EXPECT_FALSE(gave_up.tool);
  EXPECT_EQ(lost.expecting(), Expect::kOpen);
}

TEST(DialogueTest, KeyedInNumberAndKeypad) {
  const auto agent = Agent();
  Dialogue d(agent, "anonymous");
  d.OnCallerText("please call me back tomorrow morning");
  for (char c : std::string("4155550199")) {
    EXPECT_TRUE(d.OnDtmf(c).text.empty());
    EXPECT_TRUE(d.collecting_digits());
  }
  Reply done = d.OnDtmf('#');
  ASSERT_TRUE(done.tool);
  EXPECT_EQ(Args(done)["phone"], "4155550199");
  EXPECT_EQ(Args(done)["time"], "tomorrow morning");
  EXPECT_FALSE(d.collecting_digits());

  // A pause ends the entry like '#'.
  Dialogue paused(agent, "");
  paused.OnCallerText("call me back on friday");
  for (char c : std::string("5550123")) paused.OnDtmf(c);
  EXPECT_EQ(Args(paused.OnDtmfPause())["phone"], "5550123");

  // Outside number entry, 0 asks for a person and other keys are ignored.
  Dialogue keys(agent, "+15550100");
  EXPECT_TRUE(keys.OnDtmf('5').text.empty());
  EXPECT_TRUE(keys.OnDtmfPause().text.empty());
  Reply zero = keys.OnDtmf('0');
  EXPECT_EQ(zero.intent, Intent::kHuman);
  EXPECT_EQ(zero.tool->name, "transfer_call");
}

TEST(DialogueTest, ClosedGrammarReadingRescuesOnlyUnansweredTurns) {
  const auto agent = Agent();
  // The transfer offer expects yes/no: an open reading that answers nothing falls back to the
  // grammar's reading.
  Dialogue d(agent, "+15550100");
  d.OnCallerText("tell me a joke");
  EXPECT_EQ(d.expecting(), Expect::kYesNo);
  Reply yes = d.OnCallerText("guess", "yes please");
  EXPECT_EQ(yes.intent, Intent::kYes);
  EXPECT_TRUE(yes.from_closed_grammar);
  EXPECT_EQ(yes.tool->name, "transfer_call");
  // An open reading that answers something wins over the grammar's forced reading.
  Dialogue d2(agent, "+15550100");
  d2.OnCallerText("tell me a joke");
  Reply kb = d2.OnCallerText("how much is a cleaning", "yes");
  EXPECT_EQ(kb.intent, Intent::kKnowledge);
  EXPECT_FALSE(kb.from_closed_grammar);
  // A time the open reading missed.
  Dialogue d3(agent, "+15550100");
  d3.OnCallerText("call me back");
  Reply t = d3.OnCallerText("to mark three", "tomorrow at three p m");
  EXPECT_EQ(Args(t)["time"], "tomorrow at 3 pm");
  EXPECT_TRUE(t.from_closed_grammar);
  // Digits the open reading missed.
  Dialogue d4(agent, "");
  d4.OnCallerText("call me back tomorrow");
  Reply n = d4.OnCallerText("i five five", "five five five oh one two three");
  EXPECT_EQ(Args(n)["phone"], "5550123");
}

TEST(DialogueTest, GuardrailRulesAreParsed) {
  auto rule = ParseGuardrail("Never give medical advice; suggest an appointment instead.");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->forbidden, "give medical advice");
  EXPECT_EQ(rule->instead, "suggest an appointment");
  EXPECT_EQ(rule->topic.size(), 2u);
  rule = ParseGuardrail("Never share other patients' information.");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->instead, "");
  EXPECT_EQ(rule->topic.size(), 2u) << "patient + information";
  rule = ParseGuardrail("Do not discuss politics, instead steer back to the clinic.");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->forbidden, "discuss politics");
  EXPECT_EQ(rule->instead, "steer back to the clinic");
  EXPECT_EQ(rule->topic.size(), 1u);
  // Not prohibitions: left to language-model engines.
  EXPECT_FALSE(ParseGuardrail("Always be polite."));
  EXPECT_FALSE(ParseGuardrail("Keep answers short"));
  EXPECT_FALSE(ParseGuardrail("Never do it."));  // nothing to recognise
  EXPECT_FALSE(ParseGuardrail(""));
}

TEST(DialogueTest, GuardrailRulesMakeTheAgentDecline) {
  auto agent = Agent();  // the demo agent's two rules
  agent.guardrails.push_back("Do not discuss politics.");
  agent.guardrails.push_back("Always be polite.");
  Dialogue d(agent, "+15550100");
  EXPECT_EQ(d.guardrails().size(), 3u);
  Reply advice = d.OnCallerText("can you give me some medical advice about my tooth");
  EXPECT_EQ(advice.intent, Intent::kGuardrail);
  EXPECT_EQ(advice.text,
            "I'm sorry, I can't help with that. Instead, I can suggest an appointment.");
  EXPECT_FALSE(advice.tool);
  EXPECT_EQ(d.OnCallerText("what did my neighbour's patient information say").intent,
            Intent::kGuardrail);
  EXPECT_EQ(d.OnCallerText("what do you think about politics").text,
            "I'm sorry, I can't help with that.");
  // One word of a two-word topic is an ordinary question.
  EXPECT_NE(d.OnCallerText("is the clinic a medical practice").intent, Intent::kGuardrail);
  EXPECT_EQ(d.OnCallerText("how much is a cleaning").intent, Intent::kKnowledge);
  // The rule's words are in the recogniser's vocabulary.
  const auto corpus = DialogueCorpus(agent);
  EXPECT_NE(std::find(corpus.begin(), corpus.end(), "Can you give medical advice?"), corpus.end());
}

TEST(DialogueTest, CallbackTimeExtraction) {
  struct Case {
    const char* text;
    const char* time;
  };
  for (const Case& c : {
           Case{"call me back tomorrow", "tomorrow"},
           Case{"call me back tomorrow morning", "tomorrow morning"},
           Case{"call me back this afternoon", "in the afternoon"},
           Case{"call me back today in the afternoon", "this afternoon"},
           Case{"call me back on monday", "monday"},
           Case{"call me back next tuesday at ten thirty", "next tuesday at 10:30"},
           Case{"call me back at three o'clock", "at 3 o'clock"},
           Case{"call me back at 3 pm", "at 3 pm"},
           Case{"call me back on friday at two p m", "friday at 2 pm"},
           Case{"call me back at eleven a m", "at 11 am"},
           Case{"call me back at four fifteen", "at 4:15"},
           Case{"call me back wednesday evening at six", "wednesday evening at 6"},
       }) {
    EXPECT_EQ(ExtractCallbackTime(c.text).value_or("<none>"), c.time) << c.text;
  }
  EXPECT_FALSE(ExtractCallbackTime("please call me back"));
  EXPECT_FALSE(ExtractCallbackTime("my number is five five five one two"));
}

TEST(DialogueTest, KnowledgeAnswersAndFallbackOffer) {
  const auto agent = Agent();
  Dialogue d(agent, "");
  Reply r = d.OnCallerText("how much is a cleaning");
  EXPECT_EQ(r.intent, Intent::kKnowledge);
  EXPECT_EQ(r.knowledge_entry, 2u);
  EXPECT_EQ(r.text, agent.knowledge_base[2].answer);
  EXPECT_FALSE(r.tool);

  Reply unsure = d.OnCallerText("what is the meaning of life");
  EXPECT_EQ(unsure.intent, Intent::kFallback);
  EXPECT_EQ(unsure.text,
            "I'm not sure about that. Would you like me to transfer you to a member of our team?");
  Reply yes = d.OnCallerText("yes please");
  EXPECT_EQ(yes.intent, Intent::kYes);
  EXPECT_EQ(yes.tool->name, "transfer_call");

  Dialogue d2(agent, "");
  d2.OnCallerText("tell me a joke");
  Reply no = d2.OnCallerText("no");
  EXPECT_EQ(no.intent, Intent::kNo);
  EXPECT_EQ(no.text, "Is there anything else I can help you with?");
  EXPECT_FALSE(no.tool);
  // A yes without a pending offer is no transfer.
  Dialogue d3(agent, "");
  EXPECT_EQ(d3.OnCallerText("yes").intent, Intent::kFallback);
}

TEST(DialogueTest, EmptyKnowledgeBaseFallsBack) {
  auto agent = Agent();
  agent.knowledge_base.clear();
  Dialogue d(agent, "");
  EXPECT_EQ(d.OnCallerText("what are your opening hours").intent, Intent::kFallback);
  EXPECT_EQ(d.OnCallerText("goodbye").intent, Intent::kGoodbye);
  EXPECT_FALSE(DialogueCorpus(agent).empty());
}

TEST(DialogueTest, InappropriateLanguageIsCountedThenEnds) {
  auto agent = Agent();
  agent.max_inappropriate_attempts = 3;
  Dialogue d(agent, "");
  for (int i = 1; i <= 2; ++i) {
    Reply r = d.OnCallerText("you are stupid");
    EXPECT_EQ(r.intent, Intent::kInappropriate);
    EXPECT_THAT(r.text, HasSubstr("respectful"));
    EXPECT_FALSE(r.tool);
    EXPECT_EQ(d.inappropriate_count(), i);
  }
  EXPECT_EQ(d.OnCallerText("how much is a cleaning").intent, Intent::kKnowledge);
  Reply last = d.OnCallerText("shut up");
  EXPECT_THAT(last.text, HasSubstr(agent.ClosingLine()));
  EXPECT_EQ(last.tool->name, "end_call");
  EXPECT_TRUE(d.ended());
}

TEST(DialogueTest, SilenceRepromptsThenEnds) {
  const auto agent = Agent();
  Dialogue d(agent, "");
  EXPECT_EQ(d.OnSilence().text, "Are you still there?");
  // Speaking resets the count.
  d.OnCallerText("how much is a checkup");
  EXPECT_EQ(d.OnSilence().text, "Are you still there?");
  Reply end = d.OnSilence();
  EXPECT_THAT(end.text, HasSubstr(agent.ClosingLine()));
  EXPECT_EQ(end.tool->name, "end_call");
  EXPECT_TRUE(d.OnSilence().text.empty());
}

TEST(DialogueTest, FailedTransferKeepsTheCallGoing) {
  const auto agent = Agent();
  Dialogue d(agent, "");
  d.OnCallerText("i want a human");
  EXPECT_TRUE(d.ended());
  Reply r = d.OnToolFailed("transfer_call");
  EXPECT_THAT(r.text, HasSubstr("anything else"));
  EXPECT_FALSE(d.ended());
  EXPECT_TRUE(d.OnToolFailed("schedule_callback").text.empty());
  EXPECT_EQ(d.OnCallerText("no").intent, Intent::kGoodbye);
}

TEST(DialogueTest, CorpusCoversKnowledgeBaseAndToolPhrases) {
  const auto agent = Agent();
  const auto corpus = DialogueCorpus(agent);
  for (const auto& e : agent.knowledge_base) {
    EXPECT_NE(std::find(corpus.begin(), corpus.end(), e.question), corpus.end());
    EXPECT_NE(std::find(corpus.begin(), corpus.end(), e.answer), corpus.end());
  }
  // Every corpus sentence that names a tool is understood as that tool.
  Dialogue d(agent, "");
  EXPECT_EQ(Dialogue(agent, "").OnCallerText("Can I speak to a representative?").intent,
            Intent::kHuman);
}

}  // namespace
}  // namespace tempo::engine::local
