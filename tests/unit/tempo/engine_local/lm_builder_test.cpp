#include "tempo/engine/local/lm_builder.hpp"

#include "tempo/engine/local/grammars.hpp"

#include "speech_test_util.hpp"
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace tempo::engine::local {
namespace {

// A minimal ARPA reader for checking the builder's output.
struct Arpa {
  std::map<int, std::size_t> declared;
  std::map<std::vector<std::string>, std::pair<double, double>> ngrams;  // -> (logp, backoff)
  std::map<int, std::size_t> listed;
  bool ended = false;
};

Arpa ParseArpa(const std::string& text) {
  Arpa arpa;
  std::istringstream in(text);
  std::string line;
  int section = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line == "\\data\\") continue;
    if (line == "\\end\\") {
      arpa.ended = true;
      break;
    }
    if (line.rfind("ngram ", 0) == 0) {
      const auto eq = line.find('=');
      arpa.declared[std::stoi(line.substr(6, eq - 6))] = std::stoul(line.substr(eq + 1));
      continue;
    }
    if (line.front() == '\\') {
      section = line[1] - '0';
      continue;
    }
    std::istringstream fields(line);
    double logp = 0;
    fields >> logp;
    std::vector<std::string> words(static_cast<std::size_t>(section));
    for (auto& w : words) fields >> w;
    double backoff = 0;
    fields >> backoff;  // stays 0 (log10 1) if absent
    arpa.ngrams[words] = {logp, backoff};
    ++arpa.listed[section];
  }
  return arpa;
}

// P(w | h) by the standard backoff recursion.
double LogProb(const Arpa& arpa, std::vector<std::string> h, const std::string& w) {
  std::vector<std::string> key = h;
  key.push_back(w);
  if (auto it = arpa.ngrams.find(key); it != arpa.ngrams.end()) return it->second.first;
  double bo = 0;
  if (auto it = arpa.ngrams.find(h); it != arpa.ngrams.end()) bo = it->second.second;
  h.erase(h.begin());
  return bo + LogProb(arpa, h, w);
}

std::vector<std::string> Corpus() { return testing::DentalCorpus(); }

TEST(LmBuilderTest, ArpaIsValidAndNormalised) {
  auto model = BuildDomainModel(Corpus());
  ASSERT_TRUE(model.has_value()) << model.error().ToString();
  const Arpa arpa = ParseArpa(model->arpa);
  ASSERT_TRUE(arpa.ended);
  ASSERT_EQ(arpa.declared.size(), 3u);
  for (const auto& [order, count] : arpa.declared) {
    EXPECT_EQ(arpa.listed.at(order), count) << "order " << order;
  }
  EXPECT_EQ(arpa.declared.at(1), model->counts.unigrams);
  EXPECT_EQ(arpa.declared.at(2), model->counts.bigrams);
  EXPECT_EQ(arpa.declared.at(3), model->counts.trigrams);
  for (const auto& [words, p] : arpa.ngrams) {
    EXPECT_LE(p.first, 0.0);
    EXPECT_TRUE(std::isfinite(p.first) && std::isfinite(p.second));
  }
  EXPECT_EQ(arpa.ngrams.at({"<s>"}).first, -99.0);
  EXPECT_TRUE(arpa.ngrams.contains({"cleaning"}));
  EXPECT_TRUE(arpa.ngrams.contains({"call", "me", "back"}));

  // Every conditional distribution sums to one over the vocabulary (backoff is normalised).
  std::vector<std::string> vocab;
  for (const auto& [words, p] : arpa.ngrams) {
    if (words.size() == 1 && words[0] != "<s>") vocab.push_back(words[0]);
  }
  const std::vector<std::vector<std::string>> histories = {
      {}, {"<s>"}, {"call"}, {"how", "much"}, {"<s>", "what"}, {"a", "cleaning"}, {"open", "on"}};
  for (const auto& h : histories) {
    double sum = 0;
    for (const auto& w : vocab) sum += std::pow(10.0, LogProb(arpa, h, w));
    EXPECT_NEAR(sum, 1.0, 1e-3) << "history size " << h.size();
  }
}

TEST(LmBuilderTest, DictionaryCoversTheVocabulary) {
  LmBuildOptions options;
  options.extra_dictionary_words = JsgfWords(TimeGrammarJsgf());
  auto model = BuildDomainModel(std::vector<std::string>{"Book a zorblax cleaning"}, options);
  ASSERT_TRUE(model.has_value());
  std::set<std::string> dict_words;
  std::istringstream in(model->dictionary);
  std::string line;
  while (std::getline(in, line)) {
    const std::string word = line.substr(0, line.find(' '));
    dict_words.insert(word.substr(0, word.find('(')));
    EXPECT_GT(line.find(' '), 0u);
  }
  for (const char* w : {"book", "a", "zorblax", "cleaning", "tomorrow", "o'clock", "noon"}) {
    EXPECT_TRUE(dict_words.contains(w)) << w;
  }
  // "zorblax" is not in cmudict: flite letter-to-sound supplies it, in the sphinx phone set.
  EXPECT_EQ(model->lts_words, std::vector<std::string>{"zorblax"});
  EXPECT_NE(model->dictionary.find("zorblax Z"), std::string::npos) << model->dictionary;
  // Grammar-only words are in the dictionary but not in the LM.
  EXPECT_EQ(model->arpa.find(" noon"), std::string::npos);
  EXPECT_EQ(model->counts.unigrams, 6u);  // <s> </s> book a zorblax cleaning
}

TEST(LmBuilderTest, BigramOrder) {
  LmBuildOptions options;
  options.order = 2;
  auto model = BuildDomainModel(Corpus(), options);
  ASSERT_TRUE(model.has_value());
  EXPECT_EQ(model->counts.trigrams, 0u);
  EXPECT_EQ(model->arpa.find("3-grams"), std::string::npos);
  EXPECT_EQ(ParseArpa(model->arpa).declared.size(), 2u);
}

TEST(LmBuilderTest, EmptyCorpusIsAClearError) {
  for (const auto& corpus : {std::vector<std::string>{}, std::vector<std::string>{"", " ?! "}}) {
    auto model = BuildDomainModel(corpus);
    ASSERT_FALSE(model.has_value());
    EXPECT_EQ(model.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(model.error().message.find("no words"), std::string::npos);
  }
}

TEST(LmBuilderTest, HugeCorpusHitsTheDocumentedLimit) {
  std::vector<std::string> corpus;
  corpus.reserve(50'000);
  for (int i = 0; i < 50'000; ++i) {
    corpus.push_back("Sentence number " + std::to_string(i % 97) + " about cleaning and hours.");
  }
  auto model = BuildDomainModel(corpus);
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kResourceExhausted);
  EXPECT_NE(model.error().message.find("limit of 20000"), std::string::npos);

  // Within the limits a large corpus builds, and the model size stays bounded by the n-gram cap.
  corpus.resize(LmBuildOptions{}.max_sentences);
  auto ok = BuildDomainModel(corpus);
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_LE(ok->counts.unigrams + ok->counts.bigrams + ok->counts.trigrams,
            LmBuildOptions{}.max_ngrams);

  // The vocabulary cap also applies.
  LmBuildOptions small;
  small.max_vocabulary = 5;
  auto too_many_words = BuildDomainModel(Corpus(), small);
  ASSERT_FALSE(too_many_words.has_value());
  EXPECT_EQ(too_many_words.error().code, ErrorCode::kResourceExhausted);
}

TEST(LmBuilderTest, MissingDictionaryIsNotFound) {
  LmBuildOptions options;
  options.cmudict_path = "/nonexistent/cmudict.dict";
  auto model = BuildDomainModel(Corpus(), options);
  ASSERT_FALSE(model.has_value());
  EXPECT_EQ(model.error().code, ErrorCode::kNotFound);
  EXPECT_NE(model.error().message.find("pocketsphinx-en-us"), std::string::npos);
}

TEST(LmBuilderTest, DeterministicAndCachedByContent) {
  const auto corpus = Corpus();
  auto a = BuildDomainModel(corpus);
  auto b = BuildDomainModel(corpus);
  ASSERT_TRUE(a.has_value() && b.has_value());
  EXPECT_EQ(a->arpa, b->arpa);
  EXPECT_EQ(a->dictionary, b->dictionary);
  EXPECT_EQ(a->content_hash, b->content_hash);
  auto changed = corpus;
  changed.back() += " Really.";
  EXPECT_NE(ModelContentHash(changed, {}), a->content_hash);

  const auto dir =
      std::filesystem::temp_directory_path() /
      ("tempo_lm_cache_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  auto files = BuildOrLoadCached(corpus, {}, dir);
  ASSERT_TRUE(files.has_value()) << files.error().ToString();
  EXPECT_TRUE(std::filesystem::exists(files->arpa));
  EXPECT_TRUE(std::filesystem::exists(files->dictionary));
  // A cache hit returns the same files without rewriting them.
  const auto mtime = std::filesystem::last_write_time(files->arpa);
  auto again = BuildOrLoadCached(corpus, {}, dir);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->arpa, files->arpa);
  EXPECT_EQ(std::filesystem::last_write_time(again->arpa), mtime);
  std::filesystem::remove_all(dir);
}

TEST(LmBuilderTest, JsgfWords) {
  EXPECT_EQ(JsgfWords(YesNoGrammarJsgf()),
            (std::vector<std::string>{"correct", "is", "no", "nope", "not", "okay", "please",
                                      "really", "right", "sure", "thank", "thanks", "that", "yeah",
                                      "yep", "yes", "you"}));
  EXPECT_EQ(JsgfWords("#JSGF V1.0;\ngrammar g;\npublic <a> = /5/ hello <b> {tag} [World];\n"),
            (std::vector<std::string>{"hello", "world"}));
}

}  // namespace
}  // namespace tempo::engine::local
