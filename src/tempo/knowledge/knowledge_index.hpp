#pragma once

#include "tempo/agent/agent_config.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tempo::knowledge {

/// Reduces one normalised word to its retrieval term: stop words give "", a few domain synonyms
/// collapse ("price" -> "cost", "hours" -> "open", "address" -> "located"), and a light suffix
/// stemmer strips plural and verb endings ("cleanings" -> "clean", "costs" -> "cost").
std::string RetrievalTerm(std::string_view word);

/// Retrieval terms of a text (NormalizeWords, then RetrievalTerm, stop words dropped).
std::vector<std::string> RetrievalTerms(std::string_view text);

/// The lowest BM25 score that counts as an answer: below it the entry merely shares a word or two
/// with the query. Tuned on the local engine's scenarios; every engine answers with it.
inline constexpr double kMinAnswerScore = 1.2;

struct KnowledgeMatch {
  std::size_t entry = 0;  ///< index into the knowledge base
  double score = 0.0;     ///< BM25 score
};

/// BM25 (k1 = 1.2, b = 0.75) over the knowledge base: each entry is indexed as its question
/// (counted twice: questions are what callers say) plus its answer. The idf is the
/// always-positive ln(1 + (N + 1) / (n + 0.5)), so a one-entry knowledge base still scores.
/// Immutable after construction; thread-safe for concurrent reads.
class KnowledgeIndex {
 public:
  explicit KnowledgeIndex(std::span<const agent::KnowledgeEntry> entries);

  /// The best entry for a caller's words, if its score reaches `min_score`. Ties go to the
  /// earlier entry. nullopt for an empty index or a query without content words.
  [[nodiscard]] std::optional<KnowledgeMatch> Best(std::string_view query, double min_score) const;

  /// Up to `count` entries scoring at least `min_score` (and above 0), best first; ties go to the
  /// earlier entry.
  [[nodiscard]] std::vector<KnowledgeMatch> Top(std::string_view query, double min_score,
                                                std::size_t count) const;

  /// Scores of every entry (for tests and tuning), in entry order.
  [[nodiscard]] std::vector<double> Scores(std::string_view query) const;

  [[nodiscard]] std::size_t size() const { return documents_.size(); }

 private:
  struct Document {
    std::unordered_map<std::string, int> term_counts;
    int length = 0;
  };
  std::vector<Document> documents_;
  std::unordered_map<std::string, int> document_frequency_;
  double average_length_ = 0.0;
};

}  // namespace tempo::knowledge
