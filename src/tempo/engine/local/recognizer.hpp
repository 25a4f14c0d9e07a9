#pragma once

#include "tempo/base/result.hpp"
#include "tempo/engine/local/lm_builder.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct ps_decoder_s;

namespace tempo::engine::local {

/// The recognizer's input format: 16 kHz mono int16 (the en-us acoustic model is 16 kHz only;
/// phone audio is upsampled 8 k -> 16 k first).
inline constexpr int kRecognizerSampleRateHz = 16000;

/// Search name of the domain language model.
inline constexpr std::string_view kDomainSearch = "domain";

/// What the audio went through before reaching the recognizer. It selects the initial cepstral
/// mean (-cmninit): pocketsphinx adapts the mean from utterance to utterance, and starting from
/// the model's wideband default makes the first utterance of a phone call decode poorly.
enum class AudioChannel : uint8_t {
  kTelephone,  ///< 8 kHz (G.711) audio upsampled to 16 kHz
  kWideband,   ///< native 16 kHz audio: the acoustic model's own initial mean
};

/// `options` with the built-in grammars' words added to the dictionary. Build every model a
/// Recognizer loads with it: a grammar word missing from the dictionary is added with
/// ps_add_word, which also enters the trie LM, and growing its vocabulary past a power of two
/// corrupts trigram lookups in this sphinxbase version (a crash in lm_trie_score).
LmBuildOptions WithGrammarWords(LmBuildOptions options);

struct RecognizerConfig {
  /// Directory with the acoustic model folder "en-us" (package pocketsphinx-en-us).
  std::filesystem::path model_dir = std::filesystem::path(kDefaultModelDir);
  /// Domain LM + trimmed dictionary (see BuildDomainModel / WriteModelFiles).
  ModelFiles domain;
  AudioChannel channel = AudioChannel::kTelephone;
};

struct Hypothesis {
  std::string text;         ///< lower-case words separated by single spaces; empty if nothing
  double confidence = 0.0;  ///< posterior probability of the hypothesis in [0, 1]
};

/// One pocketsphinx decoder: a domain LM search (kDomainSearch, active after Create) plus the
/// built-in JSGF grammars (kYesNoGrammar, kDigitsGrammar, kTimeGrammar) and any added ones.
///
/// Thread-compatible: one instance per call, used from one thread at a time. Creation is
/// serialised process-wide (sphinxbase keeps global logging state); decoding is not.
class Recognizer {
 public:
  /// Loads the acoustic model, dictionary and LM, and registers the built-in grammars (their
  /// words missing from the dictionary are added from cmudict / flite letter-to-sound).
  /// Errors: kNotFound naming the missing file (acoustic model: install pocketsphinx-en-us;
  /// domain files: build them first); kInternal if pocketsphinx rejects the configuration.
  static Result<Recognizer> Create(const RecognizerConfig& config);

  Recognizer(Recognizer&&) noexcept;
  Recognizer& operator=(Recognizer&&) noexcept;
  ~Recognizer();

  /// Registers a JSGF grammar under `name`; words missing from the dictionary are added first.
  /// Errors: kInvalidArgument if the grammar does not parse, a word has no pronunciation or an
  /// utterance is in progress.
  Result<void> AddGrammar(std::string_view name, std::string_view jsgf);

  /// Switches between kDomainSearch and grammar searches. Takes effect for the next utterance.
  /// Errors: kNotFound for an unknown name; kFailedPrecondition during an utterance.
  Result<void> SelectSearch(std::string_view name);
  [[nodiscard]] std::string_view search() const { return search_; }

  /// Errors: kFailedPrecondition if an utterance is already open; kInternal from pocketsphinx.
  Result<void> StartUtterance();
  /// Feeds 16 kHz samples (any length; 20 ms chunks are typical).
  /// Errors: kFailedPrecondition outside an utterance; kInternal from pocketsphinx.
  Result<void> Process(std::span<const int16_t> pcm16k);
  /// Closes the utterance and returns the best hypothesis (possibly empty text).
  /// Errors: kFailedPrecondition outside an utterance; kInternal from pocketsphinx.
  Result<Hypothesis> EndUtterance();

 private:
  struct DecoderDeleter {
    void operator()(ps_decoder_s* ps) const;
  };
  explicit Recognizer(std::unique_ptr<ps_decoder_s, DecoderDeleter> ps);

  Result<void> EnsureWords(std::string_view jsgf);

  std::unique_ptr<ps_decoder_s, DecoderDeleter> ps_;
  std::string search_;
  std::string dict_path_;  // cmudict used for grammar words
  bool in_utterance_ = false;
};

}  // namespace tempo::engine::local
