// The knowledge module on its own: words as a recogniser hears them, and BM25 retrieval.
#include "tempo/knowledge/knowledge_index.hpp"
#include "tempo/knowledge/words.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tempo::knowledge {
namespace {

TEST(WordsTest, NumbersTimesAndMoneyAreSpelledOut) {
  EXPECT_EQ(NormalizeWords("Call me back tomorrow at 3 PM!"),
            (std::vector<std::string>{"call", "me", "back", "tomorrow", "at", "three", "pm"}));
  EXPECT_EQ(NormalizeWords("We're open 9:30 to 5:00, it's $120."),
            (std::vector<std::string>{"we're", "open", "nine", "thirty", "to", "five", "it's",
                                      "one", "hundred", "twenty", "dollars"}));
  EXPECT_EQ(NormalizeWords("at 10:05 am"),
            (std::vector<std::string>{"at", "ten", "oh", "five", "a", "m"}));
  EXPECT_EQ(NormalizeWords("I am 555-0198"),
            (std::vector<std::string>{"i", "am", "five", "hundred", "fifty", "five", "zero", "one",
                                      "nine", "eight"}));
  EXPECT_EQ(
      NormalizeWords("2024 and 10,000"),
      (std::vector<std::string>{"two", "thousand", "twenty", "four", "and", "ten", "thousand"}));
  EXPECT_TRUE(NormalizeWords(" ... !!").empty());
}

// The best entry is the one whose question shares the query's rarest words; entries that share
// nothing score zero, and an unrelated query finds nothing above the threshold.
TEST(KnowledgeIndexTest, RanksTheEntryThatSharesTheQuerysWords) {
  const std::vector<agent::KnowledgeEntry> entries = {
      {"Where do I park?", "There is free parking behind the shop."},
      {"What are your opening hours on Saturday?", "On Saturday we open at nine."},
      {"Do you deliver wedding cakes?", "Yes, we deliver wedding cakes within ten miles."}};
  const KnowledgeIndex index(entries);
  ASSERT_EQ(index.size(), 3U);
  const std::vector<double> scores = index.Scores("can you deliver a cake for my wedding");
  ASSERT_EQ(scores.size(), 3U);
  EXPECT_GT(scores[2], scores[0]);
  EXPECT_GT(scores[2], scores[1]);
  EXPECT_EQ(scores[0], 0.0);
  const auto best = index.Best("when do you open on saturday", 1.2);
  ASSERT_TRUE(best.has_value());
  EXPECT_EQ(best->entry, 1U);
  EXPECT_FALSE(index.Best("what is the capital of peru", 1.2));
}

}  // namespace
}  // namespace tempo::knowledge
