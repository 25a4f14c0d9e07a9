#pragma once

// Internal to engine_local: process-wide flite state shared by the synthesizer and the
// lexicon-based letter-to-sound used by the LM builder.

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

struct cst_voice_struct;

namespace tempo::engine::local::internal {

/// Initialises flite and registers every linked voice exactly once (std::call_once).
/// Thread-safe.
void EnsureFliteInitialized();

/// flite does not document reentrancy, keeps global error state (cst_errjmp) and hands out
/// registered voices as process-wide singletons, so every call into flite after initialisation
/// holds this mutex.
std::mutex& FliteMutex();

/// The registered voice for a flite voice name ("kal16", "slt", ...), or nullptr if that voice
/// is not linked into this binary. Call EnsureFliteInitialized() first.
cst_voice_struct* FliteVoiceByName(std::string_view name);

/// Pronunciation of a lower-case word from flite's CMU lexicon (falls back to its letter-to-sound
/// rules), as flite phones without stress ("hh", "ax", ...). Empty if flite has none.
/// Thread-safe (takes FliteMutex()).
std::vector<std::string> FlitePronounce(std::string_view word);

}  // namespace tempo::engine::local::internal
