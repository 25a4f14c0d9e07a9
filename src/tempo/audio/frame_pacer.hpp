#pragma once

#include "tempo/base/clock.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace tempo::audio {

/// 20 ms of 8 kHz μ-law: one Twilio media frame.
inline constexpr std::size_t kMulawFrameBytes = 160;
inline constexpr std::chrono::milliseconds kFrameDuration{20};

/// Decides when outbound frames are due so audio goes out at real-time pace (sans-I/O: the
/// caller owns the timer and passes Clock time points in). Not thread-safe.
///
/// Frame n of a run plays at anchor + n * 20 ms, where the anchor is the send time of the run's
/// first frame, and may be sent `lead` earlier (NextDue). A frame sent more than
/// `late_tolerance` after its playout time counts as late (with no lead: after its due time).
/// When the queue runs empty the caller says Idle(); the next frame re-anchors at the time it
/// is sent, so silence between utterances does not turn into a burst of "overdue" frames. A
/// stall longer than `max_catch_up` also re-anchors instead of bursting the backlog; shorter
/// delays are caught up (the overdue frames are due at once).
class FramePacer {
 public:
  using TimePoint = Clock::Steady::time_point;
  using Duration = Clock::Steady::duration;

  struct Options {
    Duration frame_duration = kFrameDuration;
    /// Sending up to this much ahead of real time is allowed (the peer buffers it).
    Duration lead = Duration::zero();
    Duration late_tolerance = std::chrono::milliseconds(5);
    Duration max_catch_up = std::chrono::milliseconds(200);
  };

  explicit FramePacer(TimePoint start) : FramePacer(start, Options{}) {}
  FramePacer(TimePoint start, Options options);

  /// When the next frame should be sent (its playout time minus `lead`). After Idle() this is
  /// normally in the past: the next frame may go out as soon as there is one.
  [[nodiscard]] TimePoint NextDue() const;
  /// True if a frame may be sent at `now`.
  [[nodiscard]] bool IsDue(TimePoint now) const { return now >= NextDue(); }

  /// Records that one frame was sent at `now`.
  void FrameSent(TimePoint now);
  /// The queue ran empty; the next FrameSent() starts a new run at its own time (or after the
  /// audio already sent ahead, whichever is later).
  void Idle();

  [[nodiscard]] uint64_t frames_sent() const { return frames_sent_; }
  [[nodiscard]] uint64_t late_frames() const { return late_frames_; }
  /// Runs started after idle or a stall (including the first one).
  [[nodiscard]] uint64_t reanchors() const { return reanchors_; }

 private:
  Options options_;
  TimePoint due_;  // playout time of the next frame
  bool idle_ = true;
  uint64_t frames_sent_ = 0;
  uint64_t late_frames_ = 0;
  uint64_t reanchors_ = 0;
};

/// One 20 ms μ-law frame.
using MulawFrame = std::array<uint8_t, kMulawFrameBytes>;

/// A named marker that the caller sends (Twilio `mark`) once every frame queued before it has
/// been sent.
struct Mark {
  std::string name;
  friend bool operator==(const Mark&, const Mark&) = default;
};

using OutboundItem = std::variant<MulawFrame, Mark>;

/// What Clear() threw away.
struct ClearResult {
  std::chrono::milliseconds dropped_audio{0};
  std::vector<std::string> dropped_marks;
};

/// Chunks arbitrary-length μ-law (or 8 kHz PCM, encoded here) into exact 160-byte frames, in
/// order with marks. A partial frame waits for more audio until Flush() or PushMark(), which pad
/// it with μ-law silence. Not thread-safe.
class FrameQueue {
 public:
  void PushMulaw(std::span<const uint8_t> mulaw);
  /// 8 kHz mono PCM; encoded to μ-law.
  void PushPcm(std::span<const int16_t> pcm8k);
  /// Pads the partial frame (if any) and queues the mark after it.
  void PushMark(std::string name);
  /// Pads the partial frame (if any) with 0xFF into a whole frame.
  void Flush();

  /// Next frame or mark, in push order; nullopt when nothing complete is queued.
  std::optional<OutboundItem> Pop();
  /// True if the next Pop() would return a frame (marks are not audio).
  [[nodiscard]] bool FrontIsFrame() const;

  /// Drops everything, including the partial frame (barge-in).
  ClearResult Clear();

  /// Complete frames waiting (marks excluded).
  [[nodiscard]] std::size_t frames_queued() const { return frames_queued_; }
  /// Audio waiting, including the partial frame.
  [[nodiscard]] std::chrono::milliseconds buffered() const;
  [[nodiscard]] bool empty() const { return items_.empty() && partial_size_ == 0; }

 private:
  void CompletePartial();

  std::deque<OutboundItem> items_;
  MulawFrame partial_{};
  std::size_t partial_size_ = 0;
  std::size_t frames_queued_ = 0;
};

}  // namespace tempo::audio
