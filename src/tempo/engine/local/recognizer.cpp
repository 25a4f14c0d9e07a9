#include "tempo/engine/local/recognizer.hpp"

#include "tempo/engine/local/grammars.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <mutex>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/jsgf.h>
#include <sphinxbase/logmath.h>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace tempo::engine::local {
namespace {

std::mutex& InitMutex() {
  static std::mutex mutex;
  return mutex;
}

// sphinxbase logs through one process-wide FILE*. Disabling it once (instead of "-logfn
// /dev/null" per decoder, which reopens and closes that global FILE* in every ps_init) keeps
// concurrent decoders from racing on it.
void SilenceSphinxLogging() {
  static std::once_flag once;
  std::call_once(once, [] { err_set_logfp(nullptr); });
}

// Mean MFCC of flite voices (kal16, rms, slt, awb) sent through the simulated phone line
// (16 k -> 8 k, faint line hiss, mu-law, -> 16 k), computed with the decoder's own front end. The
// empty band above 4 kHz shifts the mean far from the model's wideband default.
constexpr const char* kTelephoneCmnInit =
    "42.91,29.69,-32.23,46.67,-18.99,-2.07,19.79,-27.85,17.10,-10.67,0.10,14.11,-14.33";

// pocketsphinx reads feat.params after the command line and lets it win, so a different
// -cmninit needs its own feat.params: the model's file with that one line replaced, written once
// per content into the temp directory (named by hash, renamed into place: safe across processes).
Result<std::string> TelephoneFeatParams(const std::filesystem::path& hmm_dir) {
  std::ifstream in(hmm_dir / "feat.params");
  if (!in) return NotFound("speech model file missing: " + (hmm_dir / "feat.params").string());
  std::string content;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("-cmninit", 0) == 0) continue;
    content += line + "\n";
  }
  content += std::string("-cmninit ") + kTelephoneCmnInit + "\n";
  uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : content) h = (h ^ c) * 1099511628211ULL;
  const auto path =
      std::filesystem::temp_directory_path() / fmt::format("tempo-feat-{:016x}.params", h);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return path.string();
  const auto tmp = std::filesystem::path(path.string() + fmt::format(".{}", ::getpid()));
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content;
    if (!out.flush()) return Unavailable("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot write " + path.string());
  return path.string();
}

Result<void> RequireFile(const std::filesystem::path& path, std::string_view hint) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return Ok();
  return NotFound(std::string("speech model file missing: ") + path.string() + " (" +
                  std::string(hint) + ")");
}

std::string NormalizeHypothesis(const char* hyp) {
  if (hyp == nullptr) return {};
  std::istringstream in(hyp);
  std::string word;
  std::string out;
  while (in >> word) {
    // Alternate-pronunciation suffixes ("a(2)") and fillers ("<sil>", "[noise]") are not words.
    if (word.front() == '<' || word.front() == '[') continue;
    if (auto paren = word.find('('); paren != std::string::npos && paren > 0) word.resize(paren);
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

}  // namespace

LmBuildOptions WithGrammarWords(LmBuildOptions options) {
  for (const auto& g : BuiltinGrammars()) {
    for (std::string& w : JsgfWords(g.jsgf)) options.extra_dictionary_words.push_back(std::move(w));
  }
  return options;
}

void Recognizer::DecoderDeleter::operator()(ps_decoder_s* ps) const { ps_free(ps); }

Recognizer::Recognizer(std::unique_ptr<ps_decoder_s, DecoderDeleter> ps) : ps_(std::move(ps)) {}
Recognizer::Recognizer(Recognizer&&) noexcept = default;
Recognizer& Recognizer::operator=(Recognizer&&) noexcept = default;
Recognizer::~Recognizer() = default;

Result<Recognizer> Recognizer::Create(const RecognizerConfig& config) {
  // pocketsphinx exits the process on some missing model files, so check them all first.
  const auto hmm = config.model_dir / "en-us";
  constexpr std::string_view kHint = "install the Debian package pocketsphinx-en-us";
  for (const char* name :
       {"mdef", "feat.params", "means", "variances", "transition_matrices", "noisedict"}) {
    TEMPO_TRY(RequireFile(hmm / name, kHint));
  }
  TEMPO_TRY(RequireFile(config.domain.arpa, "build the domain model first"));
  TEMPO_TRY(RequireFile(config.domain.dictionary, "build the domain model first"));

  SilenceSphinxLogging();
  std::string feat_params = (hmm / "feat.params").string();
  if (config.channel == AudioChannel::kTelephone) {
    TEMPO_ASSIGN_OR_RETURN(feat_params, TelephoneFeatParams(hmm));
  }
  const std::string hmm_s = hmm.string();
  const std::string dict_s = config.domain.dictionary.string();
  const std::string arpa_s = config.domain.arpa.string();
  std::unique_ptr<ps_decoder_s, DecoderDeleter> ps;
  {
    std::lock_guard lock(InitMutex());
    cmd_ln_t* cfg = cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm_s.c_str(), "-dict",
                                dict_s.c_str(), "-featparams", feat_params.c_str(), "-samprate",
                                "16000", "-dither", "no", nullptr);
    if (cfg == nullptr) return Internal("pocketsphinx rejected the decoder configuration");
    ps.reset(ps_init(cfg));
    cmd_ln_free_r(cfg);  // the decoder keeps its own reference
  }
  if (!ps) return Internal("pocketsphinx could not initialise the decoder (model " + hmm_s + ")");
  if (ps_set_lm_file(ps.get(), std::string(kDomainSearch).c_str(), arpa_s.c_str()) != 0) {
    return Internal("pocketsphinx could not load the domain language model " + arpa_s);
  }
  Recognizer rec(std::move(ps));
  rec.dict_path_ = (config.model_dir / "cmudict-en-us.dict").string();
  for (const auto& g : BuiltinGrammars()) TEMPO_TRY(rec.AddGrammar(g.name, g.jsgf));
  TEMPO_TRY(rec.SelectSearch(kDomainSearch));
  return rec;
}

Result<void> Recognizer::EnsureWords(std::string_view jsgf) {
  std::vector<std::string> missing;
  for (const auto& word : JsgfWords(jsgf)) {
    char* pron = ps_lookup_word(ps_.get(), word.c_str());
    if (pron != nullptr) {
      ckd_free(pron);
      continue;
    }
    missing.push_back(word);
  }
  for (std::size_t i = 0; i < missing.size(); ++i) {
    TEMPO_ASSIGN_OR_RETURN(auto lines, PronunciationLines(missing[i], dict_path_));
    if (lines.empty()) {
      return InvalidArgument("grammar word '" + missing[i] + "' has no pronunciation");
    }
    // "word PH ONES" -> phones; only the first variant is added.
    const std::string phones = lines.front().substr(lines.front().find(' ') + 1);
    const int update = i + 1 == missing.size() ? TRUE : FALSE;
    if (ps_add_word(ps_.get(), missing[i].c_str(), phones.c_str(), update) < 0) {
      return InvalidArgument("pocketsphinx rejected the pronunciation of '" + missing[i] + "'");
    }
  }
  return Ok();
}

Result<void> Recognizer::AddGrammar(std::string_view name, std::string_view jsgf) {
  if (in_utterance_) return InvalidArgument("cannot add a grammar during an utterance");
  if (name == kDomainSearch) return InvalidArgument("grammar name is reserved: domain");
  TEMPO_TRY(EnsureWords(jsgf));
  const std::string name_s(name);
  const std::string jsgf_s(jsgf);
  // Equivalent to ps_set_jsgf_string(), which in this sphinxbase version never frees the parsed
  // grammar (a leak per call).
  std::unique_ptr<jsgf_t, decltype(&jsgf_grammar_free)> grammar(
      jsgf_parse_string(jsgf_s.c_str(), nullptr), &jsgf_grammar_free);
  if (!grammar) return InvalidArgument("JSGF grammar '" + name_s + "' does not parse");
  jsgf_rule_t* rule = jsgf_get_public_rule(grammar.get());
  if (rule == nullptr) return InvalidArgument("JSGF grammar '" + name_s + "' has no public rule");
  const float lw = cmd_ln_float32_r(ps_get_config(ps_.get()), "-lw");
  fsg_model_t* fsg = jsgf_build_fsg(grammar.get(), rule, ps_get_logmath(ps_.get()), lw);
  if (fsg == nullptr) return InvalidArgument("JSGF grammar '" + name_s + "' cannot be compiled");
  const int rc = ps_set_fsg(ps_.get(), name_s.c_str(), fsg);
  fsg_model_free(fsg);  // the search holds its own reference
  if (rc != 0) return InvalidArgument("pocketsphinx rejected JSGF grammar '" + name_s + "'");
  // ps_set_jsgf_string may leave the new search active; restore the selected one.
  if (!search_.empty()) ps_set_search(ps_.get(), search_.c_str());
  return Ok();
}

Result<void> Recognizer::SelectSearch(std::string_view name) {
  if (in_utterance_) return Error{ErrorCode::kFailedPrecondition, "search switch during utterance"};
  const std::string name_s(name);
  if (ps_set_search(ps_.get(), name_s.c_str()) != 0) {
    return NotFound("no recognizer search named '" + name_s + "'");
  }
  search_ = name_s;
  return Ok();
}

Result<void> Recognizer::StartUtterance() {
  if (in_utterance_) return Error{ErrorCode::kFailedPrecondition, "utterance already started"};
  if (ps_start_utt(ps_.get()) < 0) return Internal("pocketsphinx could not start an utterance");
  in_utterance_ = true;
  return Ok();
}

Result<void> Recognizer::Process(std::span<const int16_t> pcm16k) {
  if (!in_utterance_) return Error{ErrorCode::kFailedPrecondition, "no utterance in progress"};
  if (pcm16k.empty()) return Ok();
  if (ps_process_raw(ps_.get(), pcm16k.data(), pcm16k.size(), FALSE, FALSE) < 0) {
    return Internal("pocketsphinx failed to process audio");
  }
  return Ok();
}

Result<Hypothesis> Recognizer::EndUtterance() {
  if (!in_utterance_) return Error{ErrorCode::kFailedPrecondition, "no utterance in progress"};
  in_utterance_ = false;
  if (ps_end_utt(ps_.get()) < 0) return Internal("pocketsphinx could not end the utterance");
  int32 score = 0;
  Hypothesis hyp;
  hyp.text = NormalizeHypothesis(ps_get_hyp(ps_.get(), &score));
  if (!hyp.text.empty()) {
    const int32 log_prob = ps_get_prob(ps_.get());
    hyp.confidence = std::clamp(logmath_exp(ps_get_logmath(ps_.get()), log_prob), 0.0, 1.0);
  }
  return hyp;
}

}  // namespace tempo::engine::local
