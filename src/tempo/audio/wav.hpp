#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <span>
#include <vector>

namespace tempo::audio {

/// Sample encodings ParseWav understands.
enum class WavEncoding : uint16_t {
  kPcm16 = 1,  ///< WAVE_FORMAT_PCM, 16 bits per sample
  kMulaw = 7,  ///< WAVE_FORMAT_MULAW, 8 bits per sample (G.711)
};

/// A decoded WAV file: samples as 16-bit linear PCM, interleaved by channel (μ-law files are
/// decoded). `encoding` tells what the file stored.
struct WavData {
  int sample_rate = 0;
  int channels = 0;
  WavEncoding encoding = WavEncoding::kPcm16;
  std::vector<int16_t> samples;

  /// Frames = samples per channel.
  [[nodiscard]] std::size_t frames() const {
    return channels > 0 ? samples.size() / static_cast<std::size_t>(channels) : 0;
  }
};

/// Parses a RIFF/WAVE file held in memory (sans-I/O, bounds-checked, safe on untrusted input).
/// Accepts PCM16 and 8-bit μ-law (also inside WAVE_FORMAT_EXTENSIBLE), chunks in any order,
/// unknown chunks skipped (with their pad byte), bytes after the RIFF size ignored.
/// Errors (InvalidArgument, with a message naming the problem): not RIFF/WAVE, truncated
/// header or chunk, missing/duplicate fmt or data, unsupported format, inconsistent fmt fields,
/// data not a whole number of frames.
Result<WavData> ParseWav(std::span<const uint8_t> bytes);

/// Reads and parses a file. Errors: NotFound/Unavailable if it cannot be read,
/// ResourceExhausted above 1 GiB, then those of ParseWav.
Result<WavData> ReadWavFile(const std::filesystem::path& path);

/// Sets the RIFF and data sizes of a stereo PCM16 file written by WavWriter from the file's
/// length: a recording cut short by a crash keeps the sizes of its last periodic patch, and
/// the audio after it becomes playable again. Rejects files with another header layout.
Result<void> RepairWavFile(const std::filesystem::path& path);

/// Streams 16-bit PCM to a RIFF/WAVE file. The header is written at Open with zero sizes and
/// patched every `patch_interval` of audio (default one second), so a crash leaves a playable
/// file that holds all but the last second. Move-only; not thread-safe. The destructor calls
/// Finish() and ignores its error; call Finish() yourself to see it.
class WavWriter {
 public:
  /// How often (in frames) the sizes in the header are refreshed; 0 = sample_rate (1 s).
  struct Options {
    std::size_t patch_interval_frames = 0;
  };

  /// Creates/truncates `path`. Errors: InvalidArgument for a rate outside 1..384000 or
  /// channels outside 1..8; Unavailable if the file cannot be created or written.
  static Result<WavWriter> Open(const std::filesystem::path& path, int sample_rate, int channels,
                                Options options);
  static Result<WavWriter> Open(const std::filesystem::path& path, int sample_rate, int channels) {
    return Open(path, sample_rate, channels, Options{});
  }

  WavWriter(WavWriter&& other) noexcept;
  WavWriter& operator=(WavWriter&& other) noexcept;
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;
  ~WavWriter();

  /// Appends interleaved samples (size must be a multiple of channels, else InvalidArgument).
  /// Errors: Unavailable on a write failure, ResourceExhausted past the 4 GiB RIFF limit,
  /// FailedPrecondition after Finish().
  Result<void> WriteInterleaved(std::span<const int16_t> samples);

  /// Patches the final sizes and closes the file. Idempotent.
  Result<void> Finish();

  [[nodiscard]] int sample_rate() const { return sample_rate_; }
  [[nodiscard]] int channels() const { return channels_; }
  [[nodiscard]] uint64_t frames_written() const { return data_bytes_ / block_align(); }
  [[nodiscard]] bool is_open() const { return file_ != nullptr; }

 private:
  WavWriter(std::FILE* file, int sample_rate, int channels, std::size_t patch_interval_frames);
  [[nodiscard]] uint64_t block_align() const { return static_cast<uint64_t>(channels_) * 2; }
  Result<void> PatchSizes();

  std::FILE* file_ = nullptr;
  int sample_rate_ = 0;
  int channels_ = 0;
  std::size_t patch_interval_frames_ = 0;
  uint64_t data_bytes_ = 0;
  uint64_t frames_since_patch_ = 0;
};

}  // namespace tempo::audio
