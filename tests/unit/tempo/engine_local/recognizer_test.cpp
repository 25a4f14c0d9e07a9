#include "tempo/engine/local/recognizer.hpp"

#include "tempo/engine/local/grammars.hpp"
#include "tempo/engine/local/lm_builder.hpp"
#include "tempo/engine/local/tts.hpp"
#include "tempo/engine/local/vad.hpp"

#include "speech_test_util.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace tempo::engine::local {
namespace {

using testing::PadForTurn;
using testing::PhoneChannel;
using testing::RunTurn;

struct Utterance {
  std::string said;
  std::vector<std::string> key_words;
};

// The caller side of a dental-clinic call: distinct intents, each with the words an intent
// matcher would key on.
const std::vector<Utterance>& CallerUtterances() {
  static const std::vector<Utterance> kUtterances = {
      {"What are your opening hours?", {"hours"}},
      {"What is your address?", {"address"}},
      {"How much does a cleaning cost?", {"cleaning", "cost"}},
      {"How much is teeth whitening?", {"whitening"}},
      {"What is the price of a checkup?", {"price", "checkup"}},
      {"I would like to talk to a human.", {"talk", "human"}},
      {"Can I leave a message?", {"leave", "message"}},
      {"Please call me back tomorrow at 3 pm.", {"call", "back", "tomorrow", "three"}},
      {"I want to book an appointment.", {"book", "appointment"}},
      {"Do you take insurance?", {"insurance"}},
      {"Goodbye.", {"goodbye"}},
      {"Yes.", {"yes"}},
      {"No.", {"no"}},
  };
  return kUtterances;
}

bool ContainsWord(const std::string& text, const std::string& word) {
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    if (w == word) return true;
  }
  return false;
}

class RecognizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                     ("tempo_recognizer_test_" + std::to_string(::getpid())));
    const LmBuildOptions options = WithGrammarWords({});
    auto files = BuildOrLoadCached(testing::DentalCorpus(), options, *dir_);
    ASSERT_TRUE(files.has_value()) << files.error().ToString();
    files_ = new ModelFiles(*files);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete files_;
    delete dir_;
  }

  static Recognizer MakeRecognizer() {
    auto rec = Recognizer::Create({.domain = *files_});
    EXPECT_TRUE(rec.has_value()) << rec.error().ToString();
    return std::move(*rec);
  }

  // One caller turn through TTS -> phone line -> VAD/endpointer -> recognizer.
  static std::vector<std::string> Hear(Recognizer& rec, const Synthesizer& tts,
                                       std::string_view text) {
    auto pcm = tts.SynthesizeAll(text);
    EXPECT_TRUE(pcm.has_value());
    const std::vector<int16_t> call = PadForTurn(PhoneChannel(*pcm, tts.sample_rate_hz()));
    auto vad = Vad::Create(VadMode::kAggressive);
    auto ep = Endpointer::Create();
    EXPECT_TRUE(vad.has_value() && ep.has_value());
    auto outcome = RunTurn(call, *vad, *ep, rec);
    EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
    return outcome ? outcome->texts : std::vector<std::string>{};
  }

  // Runs every caller utterance in `voice`; returns how many had all key words recognised.
  static int CountRecognised(std::string_view voice) {
    Recognizer rec = MakeRecognizer();
    auto tts = Synthesizer::Create(voice);
    EXPECT_TRUE(tts.has_value());
    int ok = 0;
    for (const auto& u : CallerUtterances()) {
      const auto texts = Hear(rec, *tts, u.said);
      const std::string text = texts.size() == 1 ? texts[0] : "";
      bool all = texts.size() == 1;
      for (const auto& k : u.key_words) all = all && ContainsWord(text, k);
      ok += all ? 1 : 0;
      std::printf("[%s] %-45s -> \"%s\"%s\n", std::string(voice).c_str(), u.said.c_str(),
                  text.c_str(), all ? "" : "   (MISSED)");
    }
    return ok;
  }

  static std::filesystem::path* dir_;
  static ModelFiles* files_;
};

std::filesystem::path* RecognizerTest::dir_ = nullptr;
ModelFiles* RecognizerTest::files_ = nullptr;

TEST_F(RecognizerTest, Kal16CallerOverPhoneLine) {
  const int ok = CountRecognised("kal16");
  EXPECT_GE(ok, static_cast<int>(CallerUtterances().size()) - 1);
  EXPECT_GE(ok, 10);
}

TEST_F(RecognizerTest, RmsCallerOverPhoneLine) {
  const int ok = CountRecognised("rms");
  EXPECT_GE(ok, 10);
}

TEST_F(RecognizerTest, IsRepeatable) {
  Recognizer rec = MakeRecognizer();
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  const auto first = Hear(rec, *tts, "Can I leave a message?");
  const auto second = Hear(rec, *tts, "Can I leave a message?");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first, second);
}

TEST_F(RecognizerTest, GrammarSearches) {
  Recognizer rec = MakeRecognizer();
  EXPECT_EQ(rec.search(), kDomainSearch);
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());

  // Digits said as one run. (A long pause inside a digit string lets the free digit loop insert
  // short words such as "oh"; the domain LM copes better, see below and docs/local-engine.md.)
  ASSERT_TRUE(rec.SelectSearch(kDigitsGrammar).has_value());
  EXPECT_THAT(Hear(rec, *tts, "five five five zero one nine eight"),
              ::testing::ElementsAre("five five five zero one nine eight"));
  EXPECT_THAT(Hear(rec, *tts, "four one two"), ::testing::ElementsAre("four one two"));

  ASSERT_TRUE(rec.SelectSearch(kYesNoGrammar).has_value());
  EXPECT_THAT(Hear(rec, *tts, "yes please"), ::testing::ElementsAre("yes please"));
  EXPECT_THAT(Hear(rec, *tts, "no thank you"), ::testing::ElementsAre("no thank you"));

  ASSERT_TRUE(rec.SelectSearch(kTimeGrammar).has_value());
  const auto when = Hear(rec, *tts, "tomorrow at ten thirty in the morning");
  ASSERT_EQ(when.size(), 1u);
  EXPECT_THAT(when[0], ::testing::HasSubstr("tomorrow"));
  EXPECT_THAT(when[0], ::testing::HasSubstr("ten thirty"));

  // Back to the open domain LM, which also takes a digit string with a pause in it.
  ASSERT_TRUE(rec.SelectSearch(kDomainSearch).has_value());
  EXPECT_THAT(Hear(rec, *tts, "My number is five five five, zero one nine eight."),
              ::testing::ElementsAre("my number is five five five zero one nine eight"));
  const auto open = Hear(rec, *tts, "How much is a checkup?");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_THAT(open[0], ::testing::HasSubstr("checkup"));
}

TEST_F(RecognizerTest, CustomGrammarAddsMissingWords) {
  Recognizer rec = MakeRecognizer();
  // "periodontist" and "orthodontist" are in cmudict but not in the trimmed dictionary.
  ASSERT_TRUE(rec.AddGrammar("specialist",
                             "#JSGF V1.0;\ngrammar specialist;\n"
                             "public <s> = periodontist | orthodontist | dentist;\n")
                  .has_value());
  ASSERT_TRUE(rec.SelectSearch("specialist").has_value());
  auto tts = Synthesizer::Create("kal16");
  ASSERT_TRUE(tts.has_value());
  EXPECT_THAT(Hear(rec, *tts, "orthodontist"), ::testing::ElementsAre("orthodontist"));
  EXPECT_FALSE(rec.AddGrammar("broken", "this is not jsgf").has_value());
}

TEST_F(RecognizerTest, UtteranceStateErrors) {
  Recognizer rec = MakeRecognizer();
  std::vector<int16_t> silence(320, 0);
  EXPECT_EQ(rec.Process(silence).error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(rec.EndUtterance().error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(rec.StartUtterance().has_value());
  EXPECT_EQ(rec.StartUtterance().error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(rec.SelectSearch(kYesNoGrammar).error().code, ErrorCode::kFailedPrecondition);
  ASSERT_TRUE(rec.Process(silence).has_value());
  auto hyp = rec.EndUtterance();
  ASSERT_TRUE(hyp.has_value());
  EXPECT_EQ(hyp->text, "");
  EXPECT_EQ(rec.SelectSearch("no_such_search").error().code, ErrorCode::kNotFound);
}

TEST_F(RecognizerTest, MissingModelFilesAreClearErrors) {
  auto no_model = Recognizer::Create({.model_dir = "/nonexistent/model", .domain = *files_});
  ASSERT_FALSE(no_model.has_value());
  EXPECT_EQ(no_model.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(no_model.error().message, ::testing::HasSubstr("pocketsphinx-en-us"));

  auto no_lm = Recognizer::Create(
      {.domain = {.arpa = "/nonexistent/x.arpa", .dictionary = files_->dictionary}});
  ASSERT_FALSE(no_lm.has_value());
  EXPECT_EQ(no_lm.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(no_lm.error().message, ::testing::HasSubstr("x.arpa"));
}

}  // namespace
}  // namespace tempo::engine::local
