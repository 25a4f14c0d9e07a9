#include "tempo/audio/frame_pacer.hpp"

#include "tempo/audio/g711.hpp"

#include <algorithm>
#include <utility>

namespace tempo::audio {

FramePacer::FramePacer(TimePoint start, Options options) : options_(options), due_(start) {}

FramePacer::TimePoint FramePacer::NextDue() const { return due_ - options_.lead; }

void FramePacer::FrameSent(TimePoint now) {
  if (idle_) {
    // A new run. Audio sent ahead of real time may still be playing at the peer; the new run
    // continues after it instead of overlapping it.
    idle_ = false;
    ++reanchors_;
    due_ = std::max(due_, now);
  } else if (now - due_ > options_.max_catch_up) {
    // A stall: this frame is late, and the backlog is not burst out to catch up.
    ++late_frames_;
    ++reanchors_;
    due_ = now;
  } else if (now - due_ > options_.late_tolerance) {
    ++late_frames_;
  }
  ++frames_sent_;
  due_ += options_.frame_duration;
}

void FramePacer::Idle() { idle_ = true; }

// ---------------------------------------------------------------------------------------------

void FrameQueue::PushMulaw(std::span<const uint8_t> mulaw) {
  while (!mulaw.empty()) {
    const std::size_t n = std::min(mulaw.size(), kMulawFrameBytes - partial_size_);
    std::copy_n(mulaw.begin(), n, partial_.begin() + static_cast<std::ptrdiff_t>(partial_size_));
    partial_size_ += n;
    mulaw = mulaw.subspan(n);
    if (partial_size_ == kMulawFrameBytes) CompletePartial();
  }
}

void FrameQueue::PushPcm(std::span<const int16_t> pcm8k) {
  while (!pcm8k.empty()) {
    const std::size_t n = std::min(pcm8k.size(), kMulawFrameBytes - partial_size_);
    MulawEncode(pcm8k.first(n), std::span(partial_).subspan(partial_size_, n));
    partial_size_ += n;
    pcm8k = pcm8k.subspan(n);
    if (partial_size_ == kMulawFrameBytes) CompletePartial();
  }
}

void FrameQueue::PushMark(std::string name) {
  Flush();
  items_.emplace_back(Mark{std::move(name)});
}

void FrameQueue::Flush() {
  if (partial_size_ == 0) return;
  std::fill(partial_.begin() + static_cast<std::ptrdiff_t>(partial_size_), partial_.end(),
            kMulawSilence);
  CompletePartial();
}

void FrameQueue::CompletePartial() {
  items_.emplace_back(partial_);
  ++frames_queued_;
  partial_size_ = 0;
}

std::optional<OutboundItem> FrameQueue::Pop() {
  if (items_.empty()) return std::nullopt;
  OutboundItem item = std::move(items_.front());
  items_.pop_front();
  if (std::holds_alternative<MulawFrame>(item)) --frames_queued_;
  return item;
}

bool FrameQueue::FrontIsFrame() const {
  return !items_.empty() && std::holds_alternative<MulawFrame>(items_.front());
}

std::chrono::milliseconds FrameQueue::buffered() const {
  // 8 samples per millisecond at 8 kHz.
  const auto samples = frames_queued_ * kMulawFrameBytes + partial_size_;
  return std::chrono::milliseconds(static_cast<int64_t>(samples / 8));
}

ClearResult FrameQueue::Clear() {
  ClearResult result;
  result.dropped_audio = buffered();
  for (auto& item : items_) {
    if (auto* mark = std::get_if<Mark>(&item))
      result.dropped_marks.push_back(std::move(mark->name));
  }
  items_.clear();
  partial_size_ = 0;
  frames_queued_ = 0;
  return result;
}

}  // namespace tempo::audio
