#include "tempo/knowledge/knowledge_index.hpp"

#include "tempo/knowledge/words.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <set>

namespace tempo::knowledge {
namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

// Function words that carry no topic. Question words that do ("where", "when", "much") stay.
constexpr std::array<std::string_view, 74> kStopWords = {
    "a",      "an",    "the",  "is",   "are",   "was",    "were",  "be",    "been", "am",
    "do",     "does",  "did",  "i",    "me",    "my",     "you",   "your",  "we",   "our",
    "us",     "it",    "its",  "to",   "of",    "and",    "or",    "for",   "in",   "on",
    "at",     "by",    "with", "from", "about", "can",    "could", "would", "will", "should",
    "please", "like",  "want", "know", "tell",  "what",   "which", "that",  "this", "there",
    "hi",     "hello", "um",   "uh",   "so",    "just",   "any",   "some",  "if",   "have",
    "has",    "get",   "i'd",  "i'm",  "it's",  "what's", "okay",  "yes",   "no",   "thanks",
    "thank",  "much",  "how",  "also"};

struct Synonym {
  std::string_view word;
  std::string_view term;
};
// Small domain thesaurus for a receptionist: the caller's word -> the knowledge base's word.
constexpr std::array<Synonym, 17> kSynonyms = {{
    {"price", "cost"},
    {"prices", "cost"},
    {"charge", "cost"},
    {"fee", "cost"},
    {"fees", "cost"},
    {"expensive", "cost"},
    {"hours", "open"},
    {"opening", "open"},
    {"close", "open"},
    {"closing", "open"},
    {"time", "open"},
    {"address", "located"},
    {"location", "located"},
    {"where", "located"},
    {"find", "located"},
    {"kids", "children"},
    {"child", "children"},
}};

std::string Stem(std::string word) {
  auto ends = [&](std::string_view suffix) {
    return word.size() > suffix.size() + 2 &&
           std::string_view(word).substr(word.size() - suffix.size()) == suffix;
  };
  // Plurals first, then verb endings: "cleanings" -> "cleaning" -> "clean".
  if (ends("ies")) {
    word = word.substr(0, word.size() - 3) + "y";
  } else if (ends("es") && (word[word.size() - 3] == 's' || word[word.size() - 3] == 'x' ||
                            word[word.size() - 3] == 'h')) {
    word.resize(word.size() - 2);
  } else if (ends("s") && !ends("ss") && !ends("us")) {
    word.resize(word.size() - 1);
  }
  if (ends("ing")) {
    word.resize(word.size() - 3);
  } else if (ends("ed")) {
    word.resize(word.size() - 2);
  }
  return word;
}

}  // namespace

std::string RetrievalTerm(std::string_view word) {
  if (std::find(kStopWords.begin(), kStopWords.end(), word) != kStopWords.end()) return {};
  for (const auto& s : kSynonyms) {
    if (s.word == word) return std::string(s.term);
  }
  std::string w(word);
  std::erase(w, '\'');
  return Stem(std::move(w));
}

std::vector<std::string> RetrievalTerms(std::string_view text) {
  std::vector<std::string> terms;
  for (const std::string& word : NormalizeWords(text)) {
    std::string term = RetrievalTerm(word);
    if (!term.empty()) terms.push_back(std::move(term));
  }
  return terms;
}

KnowledgeIndex::KnowledgeIndex(std::span<const agent::KnowledgeEntry> entries) {
  long total = 0;
  for (const auto& entry : entries) {
    Document doc;
    for (int copy = 0; copy < 2; ++copy) {
      for (std::string& t : RetrievalTerms(entry.question)) {
        ++doc.term_counts[t];
        ++doc.length;
      }
    }
    for (std::string& t : RetrievalTerms(entry.answer)) {
      ++doc.term_counts[t];
      ++doc.length;
    }
    for (const auto& [term, count] : doc.term_counts) ++document_frequency_[term];
    total += doc.length;
    documents_.push_back(std::move(doc));
  }
  average_length_ = documents_.empty() ? 0.0 : double(total) / double(documents_.size());
}

std::vector<double> KnowledgeIndex::Scores(std::string_view query) const {
  std::vector<double> scores(documents_.size(), 0.0);
  std::vector<std::string> terms = RetrievalTerms(query);
  // A repeated query word does not count twice.
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  const double n_docs = double(documents_.size());
  for (const std::string& term : terms) {
    const auto df = document_frequency_.find(term);
    if (df == document_frequency_.end()) continue;
    const double idf = std::log(1.0 + (n_docs + 1.0) / (double(df->second) + 0.5));
    for (std::size_t i = 0; i < documents_.size(); ++i) {
      const auto tf = documents_[i].term_counts.find(term);
      if (tf == documents_[i].term_counts.end()) continue;
      const double f = tf->second;
      const double norm =
          1.0 - kB + kB * double(documents_[i].length) / std::max(1.0, average_length_);
      scores[i] += idf * f * (kK1 + 1.0) / (f + kK1 * norm);
    }
  }
  return scores;
}

std::vector<KnowledgeMatch> KnowledgeIndex::Top(std::string_view query, double min_score,
                                                std::size_t count) const {
  const std::vector<double> scores = Scores(query);
  std::vector<KnowledgeMatch> matches;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (scores[i] > 0.0 && scores[i] >= min_score) matches.push_back({i, scores[i]});
  }
  std::stable_sort(
      matches.begin(), matches.end(),
      [](const KnowledgeMatch& a, const KnowledgeMatch& b) { return a.score > b.score; });
  if (matches.size() > count) matches.resize(count);
  return matches;
}

std::optional<KnowledgeMatch> KnowledgeIndex::Best(std::string_view query, double min_score) const {
  const std::vector<KnowledgeMatch> top = Top(query, min_score, 1);
  if (top.empty()) return std::nullopt;
  return top.front();
}

}  // namespace tempo::knowledge
