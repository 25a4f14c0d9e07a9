#pragma once

#include <string_view>

/// Failpoints: named places in per-call work where a test build can make the code throw, to
/// prove that a failure there ends only that call, gracefully, with its artefacts saved. They
/// exist only in builds configured with TEMPO_FAILPOINTS=ON (the `dev` preset, which the tests
/// use); a release binary has none. A test arms them through the environment of the process:
///
///   TEMPO_FAILPOINTS="local.asr=CA0123…,runtime.pace_timer=*"
///
/// arms each named failpoint for one key (a CallSid) or for every key ('*').
///
///   TEMPO_FAILPOINT("local.tts", call_sid.view());   // throws std::runtime_error when armed
#ifdef TEMPO_FAILPOINTS
#define TEMPO_FAILPOINT(name, key) ::tempo::failpoint::Hit(name, key)
#else
#define TEMPO_FAILPOINT(name, key) static_cast<void>(0)
#endif

namespace tempo::failpoint {

/// Throws std::runtime_error("failpoint <name>") when `name` is armed for `key` or for '*'.
/// Thread-safe; reads TEMPO_FAILPOINTS once.
void Hit(std::string_view name, std::string_view key);

/// The armed failpoints as given ("" when none), for the start-up log of a test build.
std::string_view Armed();

}  // namespace tempo::failpoint
