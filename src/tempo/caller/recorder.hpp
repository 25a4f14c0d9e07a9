#pragma once

#include "tempo/base/clock.hpp"
#include "tempo/base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

namespace tempo::caller {

/// Two 8 kHz PCM tracks on one timeline that starts when the stream opens: what the caller
/// sent and what the simulated Twilio played of the agent. Audio is placed at its time, gaps
/// are silence. Memory grows with the call (16 KB per second per track); meant for one call,
/// not for load tests. Not thread-safe.
class CallRecorder {
 public:
  using TimePoint = Clock::Steady::time_point;

  explicit CallRecorder(TimePoint start) : start_(start) {}

  void AddCaller(TimePoint at, std::span<const uint8_t> mulaw) { Place(caller_, at, mulaw); }
  void AddAgent(TimePoint at, std::span<const uint8_t> mulaw) { Place(agent_, at, mulaw); }

  [[nodiscard]] const std::vector<int16_t>& caller() const { return caller_; }
  [[nodiscard]] const std::vector<int16_t>& agent() const { return agent_; }

  /// Writes the agent track as a mono 8 kHz WAV.
  Result<void> WriteAgentWav(const std::filesystem::path& path) const;
  /// Writes a stereo 8 kHz WAV: caller left, agent right.
  Result<void> WriteStereoWav(const std::filesystem::path& path) const;

 private:
  void Place(std::vector<int16_t>& track, TimePoint at, std::span<const uint8_t> mulaw);

  TimePoint start_;
  std::vector<int16_t> caller_;
  std::vector<int16_t> agent_;
};

}  // namespace tempo::caller
