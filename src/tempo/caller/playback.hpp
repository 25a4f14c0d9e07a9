#pragma once

#include "tempo/base/clock.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace tempo::caller {

/// Receives the audio a simulated Twilio played (to record it).
class PlayedAudioSink {
 public:
  virtual ~PlayedAudioSink() = default;
  /// `mulaw` (8 kHz) started playing at `start`.
  virtual void OnPlayed(Clock::Steady::time_point start, std::span<const uint8_t> mulaw) = 0;
};

/// Twilio's playback buffer for the audio a server sends on a media stream, as a sans-I/O
/// model: outbound `media` is queued and played at real-time rate (8 bytes of μ-law per
/// millisecond), a `mark` is reached when every byte queued before it has played (at once if
/// nothing is buffered), and `clear` drops the buffered audio and reaches every pending mark at
/// once. Time is passed in; call Advance() before each push so that playback is up to date.
/// Not thread-safe.
class PlaybackBuffer {
 public:
  using TimePoint = Clock::Steady::time_point;
  using Duration = Clock::Steady::duration;

  /// Twilio refuses more than 10 minutes of buffered audio (error 31931).
  static constexpr std::size_t kMaxBufferedBytes = 10 * 60 * 8000;

  /// Queues audio after what is buffered; playback starts at `now` if the buffer is idle.
  /// Returns false (and drops it) when it would exceed kMaxBufferedBytes.
  bool PushAudio(TimePoint now, std::span<const uint8_t> mulaw);
  /// Queues a mark after the buffered audio.
  void PushMark(std::string name);
  /// Plays everything due by `now` (reported to `sink` if not null) and appends the names of
  /// the marks reached, in order, to `marks`.
  void Advance(TimePoint now, std::vector<std::string>& marks, PlayedAudioSink* sink);

  struct Cleared {
    std::size_t dropped_bytes = 0;
    std::vector<std::string> marks;  ///< every pending mark, in order
  };
  /// Advance(now), then drops the rest of the buffered audio.
  Cleared Clear(TimePoint now, PlayedAudioSink* sink);

  /// When the next pending mark will be reached if nothing changes (now-ish if it is due).
  [[nodiscard]] std::optional<TimePoint> NextMarkDue() const;
  /// When the buffered audio finishes playing; nullopt when idle.
  [[nodiscard]] std::optional<TimePoint> PlayingUntil() const;
  /// Audio is buffered (playing).
  [[nodiscard]] bool playing() const { return buffered_bytes_ > 0; }
  /// When playback last ran dry (the end of the last played byte); nullopt before any audio.
  [[nodiscard]] std::optional<TimePoint> idle_since() const { return idle_since_; }
  [[nodiscard]] std::size_t buffered_bytes() const { return buffered_bytes_; }
  [[nodiscard]] uint64_t played_bytes() const { return played_bytes_; }
  [[nodiscard]] std::size_t pending_marks() const { return pending_marks_; }

  static constexpr Duration kByteDuration = std::chrono::microseconds(125);

 private:
  struct Item {
    std::vector<uint8_t> audio;  // empty for a mark
    std::size_t offset = 0;
    std::string mark;
    bool is_mark = false;
  };

  std::deque<Item> items_;
  TimePoint head_{};  // when the first unplayed byte plays
  std::size_t buffered_bytes_ = 0;
  std::size_t pending_marks_ = 0;
  uint64_t played_bytes_ = 0;
  std::optional<TimePoint> idle_since_;
};

}  // namespace tempo::caller
