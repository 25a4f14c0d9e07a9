#include "tempo/engine/local/lm_builder.hpp"

#include "tempo/base/log.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/engine/local/flite_support.hpp"
#include "tempo/knowledge/words.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace tempo::engine::local {
namespace {

// Bump when the output format or the estimator changes, so cached files are rebuilt.
constexpr std::string_view kBuilderVersion = "tempo-lm-1";

// ---- pronouncing dictionary --------------------------------------------------------------

struct CmuDict {
  std::unordered_map<std::string, std::vector<std::string>> prons;  // word -> phone strings
};

Result<const CmuDict*> LoadCmuDict(const std::filesystem::path& path) {
  static std::mutex mutex;
  static std::map<std::filesystem::path, std::unique_ptr<CmuDict>> cache;
  std::lock_guard lock(mutex);
  if (auto it = cache.find(path); it != cache.end()) return it->second.get();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound("pronouncing dictionary " + path.string() +
                    " not found (install the Debian package pocketsphinx-en-us)");
  }
  auto dict = std::make_unique<CmuDict>();
  dict->prons.reserve(140'000);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0) continue;
    std::string word = line.substr(0, sp);
    if (auto paren = word.find('('); paren != std::string::npos && paren > 0) word.resize(paren);
    std::size_t b = sp;
    while (b < line.size() && line[b] == ' ') ++b;
    std::size_t e = line.size();
    if (auto hash = line.find('#', b); hash != std::string::npos) e = hash;  // inline comments
    while (e > b && std::isspace(static_cast<unsigned char>(line[e - 1]))) --e;
    if (e > b) dict->prons[word].push_back(line.substr(b, e - b));
  }
  const CmuDict* result = dict.get();
  cache.emplace(path, std::move(dict));
  return result;
}

// flite's cmulex phone set -> the CMU/sphinx en-us set. Empty string: drop (pauses).
std::string SphinxPhones(const std::vector<std::string>& flite_phones) {
  static const std::set<std::string_view> kSphinx = {
      "AA", "AE", "AH", "AO", "AW", "AY", "B",  "CH", "D", "DH", "EH", "ER", "EY",
      "F",  "G",  "HH", "IH", "IY", "JH", "K",  "L",  "M", "N",  "NG", "OW", "OY",
      "P",  "R",  "S",  "SH", "T",  "TH", "UH", "UW", "V", "W",  "Y",  "Z",  "ZH"};
  static const std::map<std::string_view, std::string_view> kMap = {
      {"ax", "AH"},   {"axr", "ER"}, {"el", "AH L"}, {"em", "AH M"},
      {"en", "AH N"}, {"nx", "N"},   {"hv", "HH"},   {"dx", "T"}};
  std::string out;
  for (const std::string& p : flite_phones) {
    if (p == "pau") continue;
    std::string mapped;
    if (auto it = kMap.find(p); it != kMap.end()) {
      mapped = it->second;
    } else {
      mapped = p;
      std::transform(mapped.begin(), mapped.end(), mapped.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (!kSphinx.contains(mapped)) return {};
    }
    if (!out.empty()) out.push_back(' ');
    out += mapped;
  }
  return out;
}

enum class PronSource { kCmuDict, kLetterToSound, kNone };

// Lines for `word`; `source` tells where they came from.
std::vector<std::string> Pronounce(const CmuDict& dict, const std::string& word,
                                   PronSource& source) {
  std::vector<std::string> lines;
  if (auto it = dict.prons.find(word); it != dict.prons.end()) {
    source = PronSource::kCmuDict;
    for (std::size_t i = 0; i < it->second.size(); ++i) {
      lines.push_back(i == 0 ? fmt::format("{} {}", word, it->second[i])
                             : fmt::format("{}({}) {}", word, i + 1, it->second[i]));
    }
    return lines;
  }
  std::string phones = SphinxPhones(internal::FlitePronounce(word));
  if (phones.empty()) {
    source = PronSource::kNone;
    return lines;
  }
  source = PronSource::kLetterToSound;
  lines.push_back(fmt::format("{} {}", word, phones));
  return lines;
}

// ---- n-gram estimation -------------------------------------------------------------------

constexpr int kIdBits = 20;
constexpr uint64_t kIdMask = (uint64_t{1} << kIdBits) - 1;

uint64_t Key2(uint32_t a, uint32_t b) { return (uint64_t{a} << kIdBits) | b; }
uint64_t Key3(uint32_t a, uint32_t b, uint32_t c) {
  return (uint64_t{a} << (2 * kIdBits)) | (uint64_t{b} << kIdBits) | c;
}

struct HistoryStats {
  uint64_t total = 0;  // occurrences of the history followed by anything
  uint64_t types = 0;  // distinct continuations
};

// Absolute discount from counts-of-counts (Ney et al.): D = n1 / (n1 + 2 n2), kept in a sane range.
double Discount(const std::unordered_map<uint64_t, uint32_t>& counts) {
  uint64_t n1 = 0;
  uint64_t n2 = 0;
  for (const auto& [key, c] : counts) {
    if (c == 1) ++n1;
    if (c == 2) ++n2;
  }
  if (n1 == 0 || n2 == 0) return 0.5;
  return std::clamp(static_cast<double>(n1) / static_cast<double>(n1 + 2 * n2), 0.1, 0.9);
}

double Log10Clamped(double p) { return p > 0 ? std::log10(p) : -99.0; }

uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= 0xff;  // separator, so ("ab","c") != ("a","bc")
  h *= 1099511628211ULL;
  return h;
}

}  // namespace

uint64_t ModelContentHash(std::span<const std::string> sentences, const LmBuildOptions& options) {
  uint64_t h = 14695981039346656037ULL;
  h = Fnv1a(h, kBuilderVersion);
  h = Fnv1a(h, fmt::format("{} {} {} {} {}", options.order, options.max_sentences,
                           options.max_corpus_bytes, options.max_vocabulary, options.max_ngrams));
  h = Fnv1a(h, options.cmudict_path.string());
  for (const auto& w : options.extra_dictionary_words) h = Fnv1a(h, w);
  h = Fnv1a(h, "--");
  for (const auto& s : sentences) h = Fnv1a(h, s);
  return h;
}

Result<std::vector<std::string>> PronunciationLines(std::string_view word,
                                                    const std::filesystem::path& cmudict_path) {
  TEMPO_ASSIGN_OR_RETURN(const CmuDict* dict, LoadCmuDict(cmudict_path));
  PronSource source = PronSource::kNone;
  return Pronounce(*dict, Lower(word), source);
}

Result<DomainModel> BuildDomainModel(std::span<const std::string> sentences,
                                     const LmBuildOptions& options) {
  if (options.order != 2 && options.order != 3) {
    return InvalidArgument("lm builder: order must be 2 or 3");
  }
  if (sentences.size() > options.max_sentences) {
    return ResourceExhausted(fmt::format("lm builder: {} sentences exceed the limit of {}",
                                         sentences.size(), options.max_sentences));
  }
  std::size_t bytes = 0;
  for (const auto& s : sentences) bytes += s.size();
  if (bytes > options.max_corpus_bytes) {
    return ResourceExhausted(fmt::format("lm builder: corpus of {} bytes exceeds the limit of {}",
                                         bytes, options.max_corpus_bytes));
  }

  // Normalise and collect the vocabulary.
  std::vector<std::vector<std::string>> corpus;
  corpus.reserve(sentences.size());
  std::set<std::string> words;
  for (const auto& s : sentences) {
    auto w = knowledge::NormalizeWords(s);
    if (w.empty()) continue;
    words.insert(w.begin(), w.end());
    corpus.push_back(std::move(w));
  }
  if (words.empty()) return InvalidArgument("lm builder: the corpus contains no words");
  if (words.size() > options.max_vocabulary) {
    return ResourceExhausted(
        fmt::format("lm builder: vocabulary of {} words exceeds the limit of {}", words.size(),
                    options.max_vocabulary));
  }

  // Pronunciations: the trimmed dictionary; words without one are dropped from the LM.
  TEMPO_ASSIGN_OR_RETURN(const CmuDict* dict, LoadCmuDict(options.cmudict_path));
  DomainModel model;
  model.content_hash = ModelContentHash(sentences, options);
  std::set<std::string> dict_words = words;
  for (const auto& w : options.extra_dictionary_words) {
    for (auto& n : knowledge::NormalizeWords(w)) dict_words.insert(std::move(n));
  }
  std::unordered_set<std::string> skipped;
  std::string dictionary;
  for (const auto& w : dict_words) {
    PronSource source = PronSource::kNone;
    auto lines = Pronounce(*dict, w, source);
    if (source == PronSource::kNone) {
      skipped.insert(w);
      model.skipped_words.push_back(w);
      continue;
    }
    if (source == PronSource::kLetterToSound) model.lts_words.push_back(w);
    for (const auto& line : lines) {
      dictionary += line;
      dictionary += '\n';
    }
  }
  if (!model.skipped_words.empty()) {
    TEMPO_LOG(engine, warn, "lm builder: {} word(s) without pronunciation skipped, e.g. '{}'",
              model.skipped_words.size(), model.skipped_words.front());
  }
  for (const auto& w : skipped) words.erase(w);
  if (words.empty()) return InvalidArgument("lm builder: no corpus word has a pronunciation");

  // Vocabulary ids in sorted order, so sorting keys sorts the ARPA sections alphabetically.
  std::vector<std::string> vocab = {"</s>", "<s>"};
  vocab.insert(vocab.end(), words.begin(), words.end());
  std::sort(vocab.begin(), vocab.end());
  std::unordered_map<std::string, uint32_t> ids;
  for (uint32_t i = 0; i < vocab.size(); ++i) ids.emplace(vocab[i], i);
  const uint32_t bos = ids.at("<s>");
  const uint32_t eos = ids.at("</s>");

  std::vector<uint64_t> uni(vocab.size(), 0);
  std::unordered_map<uint64_t, uint32_t> bi;
  std::unordered_map<uint64_t, uint32_t> tri;
  std::vector<uint32_t> seq;
  auto count_segment = [&] {
    if (seq.size() <= 1) {
      seq.assign(1, bos);
      return;
    }
    seq.push_back(eos);
    for (std::size_t k = 1; k < seq.size(); ++k) {
      ++uni[seq[k]];
      ++bi[Key2(seq[k - 1], seq[k])];
      if (options.order == 3 && k >= 2) ++tri[Key3(seq[k - 2], seq[k - 1], seq[k])];
    }
    seq.assign(1, bos);
  };
  for (const auto& sentence : corpus) {
    seq.assign(1, bos);
    for (const auto& w : sentence) {
      if (skipped.contains(w)) {
        count_segment();  // a word we cannot say splits the sentence
        continue;
      }
      seq.push_back(ids.at(w));
    }
    count_segment();
  }
  if (bi.size() + tri.size() + vocab.size() > options.max_ngrams) {
    return ResourceExhausted(fmt::format("lm builder: {} n-grams exceed the limit of {}",
                                         bi.size() + tri.size() + vocab.size(),
                                         options.max_ngrams));
  }

  // Unigrams: maximum likelihood over all tokens but <s> (every word is seen: closed vocabulary).
  uint64_t total = 0;
  for (uint32_t i = 0; i < uni.size(); ++i) total += i == bos ? 0 : uni[i];
  std::vector<double> p1(vocab.size(), 0.0);
  for (uint32_t i = 0; i < uni.size(); ++i) {
    p1[i] = i == bos ? 0.0 : static_cast<double>(uni[i]) / static_cast<double>(total);
  }

  const double d2 = Discount(bi);
  const double d3 = options.order == 3 ? Discount(tri) : 0.0;
  std::vector<HistoryStats> h1(vocab.size());
  std::vector<double> seen_lower1(vocab.size(), 0.0);  // sum of p1(w) over seen continuations
  for (const auto& [key, c] : bi) {
    const auto h = static_cast<uint32_t>(key >> kIdBits);
    h1[h].total += c;
    ++h1[h].types;
    seen_lower1[h] += p1[key & kIdMask];
  }
  auto p2 = [&](uint64_t key, uint32_t c) {
    const auto& hs = h1[key >> kIdBits];
    return (c - d2) / static_cast<double>(hs.total);
  };
  std::unordered_map<uint64_t, HistoryStats> h2;
  std::unordered_map<uint64_t, double> seen_lower2;
  for (const auto& [key, c] : tri) {
    const uint64_t hist = key >> kIdBits;
    auto& hs = h2[hist];
    hs.total += c;
    ++hs.types;
    const uint64_t lower = key & ((uint64_t{1} << (2 * kIdBits)) - 1);
    seen_lower2[hist] += p2(lower, bi.at(lower));
  }
  auto backoff = [](double leftover, double seen_lower) {
    return leftover / std::max(1.0 - seen_lower, 1e-6);
  };

  std::string arpa;
  arpa.reserve(64 * (vocab.size() + bi.size() + tri.size()) + 256);
  model.counts = {vocab.size(), bi.size(), tri.size()};
  arpa += "\\data\\\n";
  arpa += fmt::format("ngram 1={}\n", vocab.size());
  arpa += fmt::format("ngram 2={}\n", bi.size());
  if (options.order == 3) arpa += fmt::format("ngram 3={}\n", tri.size());

  arpa += "\n\\1-grams:\n";
  for (uint32_t i = 0; i < vocab.size(); ++i) {
    const double lp = i == bos ? -99.0 : Log10Clamped(p1[i]);
    if (h1[i].types == 0) {
      arpa += fmt::format("{:.6f} {}\n", lp, vocab[i]);
      continue;
    }
    const double leftover =
        d2 * static_cast<double>(h1[i].types) / static_cast<double>(h1[i].total);
    arpa += fmt::format("{:.6f} {} {:.6f}\n", lp, vocab[i],
                        Log10Clamped(backoff(leftover, seen_lower1[i])));
  }

  std::vector<uint64_t> keys;
  keys.reserve(std::max(bi.size(), tri.size()));
  for (const auto& [key, c] : bi) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  arpa += "\n\\2-grams:\n";
  for (uint64_t key : keys) {
    const double lp = Log10Clamped(p2(key, bi.at(key)));
    const auto& a = vocab[key >> kIdBits];
    const auto& b = vocab[key & kIdMask];
    auto it = h2.find(key);
    if (it == h2.end()) {
      arpa += fmt::format("{:.6f} {} {}\n", lp, a, b);
      continue;
    }
    const double leftover =
        d3 * static_cast<double>(it->second.types) / static_cast<double>(it->second.total);
    arpa += fmt::format("{:.6f} {} {} {:.6f}\n", lp, a, b,
                        Log10Clamped(backoff(leftover, seen_lower2.at(key))));
  }

  if (options.order == 3) {
    keys.clear();
    for (const auto& [key, c] : tri) keys.push_back(key);
    std::sort(keys.begin(), keys.end());
    arpa += "\n\\3-grams:\n";
    for (uint64_t key : keys) {
      const auto& hs = h2.at(key >> kIdBits);
      const double p = (tri.at(key) - d3) / static_cast<double>(hs.total);
      arpa += fmt::format("{:.6f} {} {} {}\n", Log10Clamped(p), vocab[key >> (2 * kIdBits)],
                          vocab[(key >> kIdBits) & kIdMask], vocab[key & kIdMask]);
    }
  }
  arpa += "\n\\end\\\n";
  model.arpa = std::move(arpa);
  model.dictionary = std::move(dictionary);
  return model;
}

namespace {

Result<void> WriteAtomically(const std::filesystem::path& path, std::string_view content) {
  static std::atomic<uint64_t> counter{0};
  const auto tmp = std::filesystem::path(
      path.string() + fmt::format(".tmp.{}.{}", ::getpid(), counter.fetch_add(1)));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable("cannot write " + tmp.string());
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out.flush()) return Unavailable("cannot write " + tmp.string());
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return Unavailable("cannot rename into " + path.string());
  }
  return Ok();
}

ModelFiles FilesFor(const std::filesystem::path& dir, uint64_t hash) {
  const std::string stem = fmt::format("{:016x}", hash);
  return {dir / (stem + ".arpa"), dir / (stem + ".dict")};
}

}  // namespace

Result<ModelFiles> WriteModelFiles(const DomainModel& model, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create directory " + dir.string() + ": " + ec.message());
  ModelFiles files = FilesFor(dir, model.content_hash);
  TEMPO_TRY(WriteAtomically(files.arpa, model.arpa));
  TEMPO_TRY(WriteAtomically(files.dictionary, model.dictionary));
  return files;
}

Result<ModelFiles> BuildOrLoadCached(std::span<const std::string> sentences,
                                     const LmBuildOptions& options,
                                     const std::filesystem::path& cache_dir) {
  ModelFiles files = FilesFor(cache_dir, ModelContentHash(sentences, options));
  std::error_code ec;
  if (std::filesystem::is_regular_file(files.arpa, ec) &&
      std::filesystem::is_regular_file(files.dictionary, ec)) {
    return files;
  }
  TEMPO_ASSIGN_OR_RETURN(DomainModel model, BuildDomainModel(sentences, options));
  return WriteModelFiles(model, cache_dir);
}

}  // namespace tempo::engine::local
