#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::engine::local {

/// Where the Debian package pocketsphinx-en-us installs the US English models.
inline constexpr std::string_view kDefaultModelDir = "/usr/share/pocketsphinx/model/en-us";

/// Limits keep agent-load time and decoder memory bounded; past them BuildDomainModel fails with
/// kResourceExhausted rather than producing a model that makes the recognizer slow.
struct LmBuildOptions {
  /// 2 (bigram) or 3 (trigram).
  int order = 3;
  std::size_t max_sentences = 20'000;
  std::size_t max_corpus_bytes = 2 * 1024 * 1024;
  std::size_t max_vocabulary = 10'000;
  std::size_t max_ngrams = 400'000;
  /// Pronouncing dictionary the trimmed dictionary is cut from.
  std::filesystem::path cmudict_path =
      std::filesystem::path(kDefaultModelDir) / "cmudict-en-us.dict";
  /// Words always put in the dictionary (not in the LM), e.g. the built-in grammars' words.
  std::vector<std::string> extra_dictionary_words;
};

struct NgramCounts {
  std::size_t unigrams = 0;
  std::size_t bigrams = 0;
  std::size_t trigrams = 0;
};

/// A per-agent language model and the matching trimmed pronouncing dictionary.
struct DomainModel {
  std::string arpa;        ///< ARPA text (backoff LM, absolute discounting), loadable by sphinx
  std::string dictionary;  ///< sphinx dictionary text: "word PH O N E S" lines, sorted
  NgramCounts counts;
  std::vector<std::string> lts_words;      ///< pronounced by flite letter-to-sound (not in cmudict)
  std::vector<std::string> skipped_words;  ///< had no usable pronunciation; left out of LM and dict
  uint64_t content_hash = 0;               ///< of the inputs; names cache files
};

/// Builds the LM and dictionary from `sentences` (knowledge base text, tool phrases, common call
/// phrases). Takes milliseconds for a few hundred sentences; the CMU dictionary is loaded once per
/// process (first call costs its parse, ~0.1-0.3 s) and cached. Thread-safe.
/// Errors: kInvalidArgument if the corpus has no words or options are invalid; kNotFound if the
/// CMU dictionary is missing (package pocketsphinx-en-us); kResourceExhausted past a limit.
Result<DomainModel> BuildDomainModel(std::span<const std::string> sentences,
                                     const LmBuildOptions& options = {});

/// Paths of an LM/dictionary pair on disk.
struct ModelFiles {
  std::filesystem::path arpa;
  std::filesystem::path dictionary;
};

/// Writes `model` to `dir` as <hash>.arpa / <hash>.dict (atomically, via rename).
/// Errors: kUnavailable on I/O failure.
Result<ModelFiles> WriteModelFiles(const DomainModel& model, const std::filesystem::path& dir);

/// Returns cached files for this corpus+options under `cache_dir` when present; otherwise builds
/// and writes them. Errors: as BuildDomainModel and WriteModelFiles.
Result<ModelFiles> BuildOrLoadCached(std::span<const std::string> sentences,
                                     const LmBuildOptions& options,
                                     const std::filesystem::path& cache_dir);

/// Hash of the inputs that determine the model (sentences, options, builder version).
uint64_t ModelContentHash(std::span<const std::string> sentences, const LmBuildOptions& options);

/// Sphinx-format pronunciation(s) of one lower-case word: cmudict entries ("hello HH AH L OW",
/// "hello(2) ...") or, failing that, one from flite letter-to-sound. Empty if neither works.
/// Errors: kNotFound if the CMU dictionary is missing.
Result<std::vector<std::string>> PronunciationLines(std::string_view word,
                                                    const std::filesystem::path& cmudict_path);

}  // namespace tempo::engine::local
