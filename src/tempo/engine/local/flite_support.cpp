#include "tempo/engine/local/flite_support.hpp"

#include <cctype>
#include <flite/flite.h>
#include <map>

extern "C" {
cst_voice* register_cmu_us_kal16(const char* voxdir);
#ifdef TEMPO_FLITE_HAVE_SLT
cst_voice* register_cmu_us_slt(const char* voxdir);
#endif
#ifdef TEMPO_FLITE_HAVE_RMS
cst_voice* register_cmu_us_rms(const char* voxdir);
#endif
#ifdef TEMPO_FLITE_HAVE_AWB
cst_voice* register_cmu_us_awb(const char* voxdir);
#endif
#ifdef TEMPO_FLITE_HAVE_KAL
cst_voice* register_cmu_us_kal(const char* voxdir);
#endif
cst_lexicon* cmu_lex_init(void);
}

namespace tempo::engine::local::internal {
namespace {

struct FliteState {
  std::map<std::string, cst_voice*, std::less<>> voices;
  cst_lexicon* lexicon = nullptr;
};

FliteState& State() {
  static FliteState state;
  return state;
}

std::once_flag& InitFlag() {
  static std::once_flag flag;
  return flag;
}

}  // namespace

std::mutex& FliteMutex() {
  static std::mutex mutex;
  return mutex;
}

void EnsureFliteInitialized() {
  std::call_once(InitFlag(), [] {
    std::lock_guard lock(FliteMutex());
    flite_init();
    FliteState& state = State();
    state.voices["kal16"] = register_cmu_us_kal16(nullptr);
#ifdef TEMPO_FLITE_HAVE_SLT
    state.voices["slt"] = register_cmu_us_slt(nullptr);
#endif
#ifdef TEMPO_FLITE_HAVE_RMS
    state.voices["rms"] = register_cmu_us_rms(nullptr);
#endif
#ifdef TEMPO_FLITE_HAVE_AWB
    state.voices["awb"] = register_cmu_us_awb(nullptr);
#endif
#ifdef TEMPO_FLITE_HAVE_KAL
    state.voices["kal"] = register_cmu_us_kal(nullptr);
#endif
    state.lexicon = cmu_lex_init();
  });
}

cst_voice_struct* FliteVoiceByName(std::string_view name) {
  const auto& voices = State().voices;
  auto it = voices.find(name);
  return it == voices.end() ? nullptr : it->second;
}

std::vector<std::string> FlitePronounce(std::string_view word) {
  EnsureFliteInitialized();
  std::vector<std::string> phones;
  const std::string text(word);
  std::lock_guard lock(FliteMutex());
  cst_lexicon* lexicon = State().lexicon;
  if (lexicon == nullptr) return phones;
  cst_val* list = lex_lookup(lexicon, text.c_str(), nullptr, nullptr);
  for (const cst_val* v = list; v != nullptr; v = val_cdr(v)) {
    std::string phone = val_string(val_car(v));
    while (!phone.empty() && std::isdigit(static_cast<unsigned char>(phone.back()))) {
      phone.pop_back();  // stress marks ("ey1") are not part of the sphinx phone set
    }
    if (!phone.empty()) phones.push_back(std::move(phone));
  }
  delete_val(list);
  return phones;
}

}  // namespace tempo::engine::local::internal
