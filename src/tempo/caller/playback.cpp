#include "tempo/caller/playback.hpp"

#include <algorithm>
#include <utility>

namespace tempo::caller {

bool PlaybackBuffer::PushAudio(TimePoint now, std::span<const uint8_t> mulaw) {
  if (mulaw.empty()) return true;
  if (buffered_bytes_ + mulaw.size() > kMaxBufferedBytes) return false;
  if (buffered_bytes_ == 0) head_ = std::max(head_, now);
  // Consecutive media messages share one item, so a long utterance is a few big vectors
  // rather than thousands of 160-byte ones.
  if (!items_.empty() && !items_.back().is_mark && items_.back().audio.size() < 64 * 1024) {
    auto& audio = items_.back().audio;
    audio.insert(audio.end(), mulaw.begin(), mulaw.end());
  } else {
    items_.push_back(Item{std::vector<uint8_t>(mulaw.begin(), mulaw.end()), 0, {}, false});
  }
  buffered_bytes_ += mulaw.size();
  return true;
}

void PlaybackBuffer::PushMark(std::string name) {
  items_.push_back(Item{{}, 0, std::move(name), true});
  ++pending_marks_;
}

void PlaybackBuffer::Advance(TimePoint now, std::vector<std::string>& marks,
                             PlayedAudioSink* sink) {
  while (!items_.empty()) {
    Item& front = items_.front();
    if (front.is_mark) {
      marks.push_back(std::move(front.mark));
      --pending_marks_;
      items_.pop_front();
      continue;
    }
    if (now <= head_) break;
    const auto due = static_cast<std::size_t>((now - head_) / kByteDuration);
    const std::size_t n = std::min(front.audio.size() - front.offset, due);
    if (n == 0) break;
    if (sink != nullptr) sink->OnPlayed(head_, std::span(front.audio).subspan(front.offset, n));
    front.offset += n;
    head_ += kByteDuration * static_cast<int64_t>(n);
    buffered_bytes_ -= n;
    played_bytes_ += n;
    if (buffered_bytes_ == 0) idle_since_ = head_;
    if (front.offset < front.audio.size()) break;
    items_.pop_front();
  }
}

PlaybackBuffer::Cleared PlaybackBuffer::Clear(TimePoint now, PlayedAudioSink* sink) {
  Cleared out;
  Advance(now, out.marks, sink);
  for (auto& item : items_) {
    if (item.is_mark) {
      out.marks.push_back(std::move(item.mark));
    } else {
      out.dropped_bytes += item.audio.size() - item.offset;
    }
  }
  items_.clear();
  pending_marks_ = 0;
  if (buffered_bytes_ > 0) idle_since_ = std::max(head_, now);
  buffered_bytes_ = 0;
  head_ = std::max(head_, now);
  return out;
}

std::optional<PlaybackBuffer::TimePoint> PlaybackBuffer::NextMarkDue() const {
  std::size_t bytes_before = 0;
  for (const auto& item : items_) {
    if (item.is_mark) return head_ + kByteDuration * static_cast<int64_t>(bytes_before);
    bytes_before += item.audio.size() - item.offset;
  }
  return std::nullopt;
}

std::optional<PlaybackBuffer::TimePoint> PlaybackBuffer::PlayingUntil() const {
  if (buffered_bytes_ == 0) return std::nullopt;
  return head_ + kByteDuration * static_cast<int64_t>(buffered_bytes_);
}

}  // namespace tempo::caller
