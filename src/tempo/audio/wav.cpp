#include "tempo/audio/wav.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/audio/resampler.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tempo::audio {
namespace {

constexpr int kMaxChannels = 8;
constexpr std::size_t kHeaderSize = 44;
constexpr uint16_t kFormatExtensible = 0xFFFE;
constexpr uint64_t kMaxRiffPayload = 0xFFFFFFFFull;
constexpr uintmax_t kMaxFileBytes = uintmax_t{1} << 30;

uint16_t ReadLe16(std::span<const uint8_t> b, std::size_t at) {
  return static_cast<uint16_t>(b[at] | (b[at + 1] << 8));
}

uint32_t ReadLe32(std::span<const uint8_t> b, std::size_t at) {
  return static_cast<uint32_t>(b[at]) | (static_cast<uint32_t>(b[at + 1]) << 8) |
         (static_cast<uint32_t>(b[at + 2]) << 16) | (static_cast<uint32_t>(b[at + 3]) << 24);
}

void PutLe16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

void PutLe32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

bool TagIs(std::span<const uint8_t> b, std::size_t at, std::string_view tag) {
  return std::memcmp(b.data() + at, tag.data(), 4) == 0;
}

// Chunk ids are shown in errors; untrusted bytes are escaped so logs stay printable.
std::string PrintableTag(std::span<const uint8_t> b, std::size_t at) {
  std::string out;
  for (std::size_t i = 0; i < 4; ++i) {
    const uint8_t c = b[at + i];
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
  return out;
}

Error Bad(std::string message) { return InvalidArgument("wav: " + std::move(message)); }

struct Format {
  WavEncoding encoding;
  int channels;
  int sample_rate;
  std::size_t block_align;
};

Result<Format> ParseFmt(std::span<const uint8_t> fmt) {
  if (fmt.size() < 16) return Bad(fmt::format("fmt chunk too short ({} bytes)", fmt.size()));
  uint16_t tag = ReadLe16(fmt, 0);
  const uint16_t channels = ReadLe16(fmt, 2);
  const uint32_t rate = ReadLe32(fmt, 4);
  const uint16_t block_align = ReadLe16(fmt, 12);
  const uint16_t bits = ReadLe16(fmt, 14);
  if (tag == kFormatExtensible) {
    // cbSize(2) validBits(2) channelMask(4) then the SubFormat GUID, whose first 2 bytes are
    // the real format tag.
    if (fmt.size() < 40) return Bad("WAVE_FORMAT_EXTENSIBLE fmt chunk too short");
    tag = ReadLe16(fmt, 24);
  }
  if (channels < 1 || channels > kMaxChannels) {
    return Bad(fmt::format("unsupported channel count {}", channels));
  }
  if (rate < 1 || rate > static_cast<uint32_t>(kMaxSampleRate)) {
    return Bad(fmt::format("unsupported sample rate {}", rate));
  }
  WavEncoding encoding;
  uint16_t expected_bits = 0;
  if (tag == static_cast<uint16_t>(WavEncoding::kPcm16)) {
    encoding = WavEncoding::kPcm16;
    expected_bits = 16;
  } else if (tag == static_cast<uint16_t>(WavEncoding::kMulaw)) {
    encoding = WavEncoding::kMulaw;
    expected_bits = 8;
  } else {
    return Bad(fmt::format("unsupported format tag {:#06x} (need PCM16 or mu-law)", tag));
  }
  if (bits != expected_bits) {
    return Bad(fmt::format("format {:#06x} with {} bits per sample is not supported", tag, bits));
  }
  const std::size_t expected_align = static_cast<std::size_t>(channels) * (expected_bits / 8);
  if (block_align != expected_align) {
    return Bad(fmt::format("block align {} does not match {} channels of {} bits", block_align,
                           channels, bits));
  }
  return Format{encoding, channels, static_cast<int>(rate), expected_align};
}

}  // namespace

Result<WavData> ParseWav(std::span<const uint8_t> bytes) {
  if (bytes.size() < 12) return Bad(fmt::format("truncated header ({} bytes)", bytes.size()));
  if (!TagIs(bytes, 0, "RIFF")) {
    if (TagIs(bytes, 0, "RIFX") || TagIs(bytes, 0, "RF64")) {
      return Bad(fmt::format("{} files are not supported", PrintableTag(bytes, 0)));
    }
    return Bad(fmt::format("not a RIFF file (magic '{}')", PrintableTag(bytes, 0)));
  }
  if (!TagIs(bytes, 8, "WAVE")) {
    return Bad(fmt::format("RIFF form is '{}', not WAVE", PrintableTag(bytes, 8)));
  }
  const uint64_t riff_end = 8 + static_cast<uint64_t>(ReadLe32(bytes, 4));
  if (riff_end < 12) return Bad("RIFF size too small");
  if (riff_end > bytes.size()) {
    return Bad(
        fmt::format("truncated: RIFF declares {} bytes, only {} present", riff_end, bytes.size()));
  }
  const auto end = static_cast<std::size_t>(riff_end);

  std::optional<std::span<const uint8_t>> fmt_chunk;
  std::optional<std::span<const uint8_t>> data_chunk;
  std::size_t pos = 12;
  while (pos < end) {
    if (end - pos < 8) {
      return Bad(fmt::format("truncated chunk header at offset {}", pos));
    }
    const uint32_t size = ReadLe32(bytes, pos + 4);
    const std::size_t body = pos + 8;
    if (size > end - body) {
      return Bad(fmt::format("truncated: chunk '{}' at offset {} declares {} bytes, only {} left",
                             PrintableTag(bytes, pos), pos, size, end - body));
    }
    const auto chunk = bytes.subspan(body, size);
    if (TagIs(bytes, pos, "fmt ")) {
      if (fmt_chunk) return Bad("duplicate fmt chunk");
      fmt_chunk = chunk;
    } else if (TagIs(bytes, pos, "data")) {
      if (data_chunk) return Bad("duplicate data chunk");
      data_chunk = chunk;
    }
    // Odd-sized chunks are followed by a pad byte; some writers omit it on the last chunk.
    pos = body + size;
    if ((size & 1) != 0 && pos < end) ++pos;
  }
  if (!fmt_chunk) return Bad("missing fmt chunk");
  if (!data_chunk) return Bad("missing data chunk");
  TEMPO_ASSIGN_OR_RETURN(const Format format, ParseFmt(*fmt_chunk));
  const auto data = *data_chunk;
  if (data.size() % format.block_align != 0) {
    return Bad(fmt::format("data size {} is not a whole number of {}-byte frames", data.size(),
                           format.block_align));
  }

  WavData out;
  out.sample_rate = format.sample_rate;
  out.channels = format.channels;
  out.encoding = format.encoding;
  if (format.encoding == WavEncoding::kMulaw) {
    out.samples.resize(data.size());
    MulawDecode(data, out.samples);
  } else {
    out.samples.resize(data.size() / 2);
    for (std::size_t i = 0; i < out.samples.size(); ++i) {
      out.samples[i] = static_cast<int16_t>(ReadLe16(data, 2 * i));
    }
  }
  return out;
}

Result<WavData> ReadWavFile(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    const std::string message =
        fmt::format("cannot open {}: {}", path.string(), std::strerror(err));
    return err == ENOENT ? NotFound(message) : Unavailable(message);
  }
  std::vector<uint8_t> bytes;
  std::array<uint8_t, 64 * 1024> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file)) > 0) {
    if (bytes.size() + n > kMaxFileBytes) {
      std::fclose(file);
      return ResourceExhausted(fmt::format("{} is larger than 1 GiB", path.string()));
    }
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return Unavailable(fmt::format("read error on {}", path.string()));
  return ParseWav(bytes);
}

// ---------------------------------------------------------------------------------------------

Result<WavWriter> WavWriter::Open(const std::filesystem::path& path, int sample_rate, int channels,
                                  Options options) {
  if (sample_rate < 1 || sample_rate > kMaxSampleRate) {
    return InvalidArgument(fmt::format("wav: unsupported sample rate {}", sample_rate));
  }
  if (channels < 1 || channels > kMaxChannels) {
    return InvalidArgument(fmt::format("wav: unsupported channel count {}", channels));
  }
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    return Unavailable(fmt::format("cannot create {}: {}", path.string(), std::strerror(errno)));
  }
  const std::size_t interval = options.patch_interval_frames != 0
                                   ? options.patch_interval_frames
                                   : static_cast<std::size_t>(sample_rate);
  WavWriter writer(file, sample_rate, channels, interval);
  std::array<uint8_t, kHeaderSize> header{};
  std::memcpy(header.data(), "RIFF", 4);
  PutLe32(header.data() + 4, 36);  // sizes of an empty file; patched as audio arrives
  std::memcpy(header.data() + 8, "WAVE", 4);
  std::memcpy(header.data() + 12, "fmt ", 4);
  PutLe32(header.data() + 16, 16);
  PutLe16(header.data() + 20, static_cast<uint16_t>(WavEncoding::kPcm16));
  PutLe16(header.data() + 22, static_cast<uint16_t>(channels));
  PutLe32(header.data() + 24, static_cast<uint32_t>(sample_rate));
  PutLe32(header.data() + 28, static_cast<uint32_t>(sample_rate * channels * 2));
  PutLe16(header.data() + 32, static_cast<uint16_t>(channels * 2));
  PutLe16(header.data() + 34, 16);
  std::memcpy(header.data() + 36, "data", 4);
  PutLe32(header.data() + 40, 0);
  if (std::fwrite(header.data(), 1, header.size(), file) != header.size() ||
      std::fflush(file) != 0) {
    return Unavailable(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  }
  return writer;
}

WavWriter::WavWriter(std::FILE* file, int sample_rate, int channels,
                     std::size_t patch_interval_frames)
    : file_(file),
      sample_rate_(sample_rate),
      channels_(channels),
      patch_interval_frames_(patch_interval_frames) {}

WavWriter::WavWriter(WavWriter&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      sample_rate_(other.sample_rate_),
      channels_(other.channels_),
      patch_interval_frames_(other.patch_interval_frames_),
      data_bytes_(other.data_bytes_),
      frames_since_patch_(other.frames_since_patch_) {}

WavWriter& WavWriter::operator=(WavWriter&& other) noexcept {
  if (this != &other) {
    (void)Finish();
    file_ = std::exchange(other.file_, nullptr);
    sample_rate_ = other.sample_rate_;
    channels_ = other.channels_;
    patch_interval_frames_ = other.patch_interval_frames_;
    data_bytes_ = other.data_bytes_;
    frames_since_patch_ = other.frames_since_patch_;
  }
  return *this;
}

WavWriter::~WavWriter() { (void)Finish(); }

Result<void> WavWriter::WriteInterleaved(std::span<const int16_t> samples) {
  if (file_ == nullptr) return Error(ErrorCode::kFailedPrecondition, "wav: writer is finished");
  if (samples.size() % static_cast<std::size_t>(channels_) != 0) {
    return InvalidArgument(
        fmt::format("wav: {} samples is not a multiple of {} channels", samples.size(), channels_));
  }
  const uint64_t bytes = static_cast<uint64_t>(samples.size()) * 2;
  if (kHeaderSize - 8 + data_bytes_ + bytes > kMaxRiffPayload) {
    return ResourceExhausted("wav: file would exceed the 4 GiB RIFF limit");
  }
  std::size_t written = 0;
  if constexpr (std::endian::native == std::endian::little) {
    written = std::fwrite(samples.data(), sizeof(int16_t), samples.size(), file_);
  } else {
    std::array<uint8_t, 512> buf{};
    while (written < samples.size()) {
      const std::size_t n = std::min(samples.size() - written, buf.size() / 2);
      for (std::size_t i = 0; i < n; ++i) {
        PutLe16(buf.data() + 2 * i, static_cast<uint16_t>(samples[written + i]));
      }
      if (std::fwrite(buf.data(), 2, n, file_) != n) break;
      written += n;
    }
  }
  data_bytes_ += static_cast<uint64_t>(written) * 2;
  if (written != samples.size()) {
    return Unavailable(fmt::format("wav: write failed: {}", std::strerror(errno)));
  }
  frames_since_patch_ += samples.size() / static_cast<std::size_t>(channels_);
  if (frames_since_patch_ >= patch_interval_frames_) {
    frames_since_patch_ = 0;
    TEMPO_TRY(PatchSizes());
  }
  return Ok();
}

Result<void> WavWriter::PatchSizes() {
  // Only whole frames are declared, so a short write can never leave a torn frame in the data.
  const uint64_t declared = data_bytes_ - data_bytes_ % block_align();
  std::array<uint8_t, 4> riff{};
  std::array<uint8_t, 4> data{};
  PutLe32(riff.data(), static_cast<uint32_t>(kHeaderSize - 8 + declared));
  PutLe32(data.data(), static_cast<uint32_t>(declared));
  const bool ok =
      std::fseek(file_, 4, SEEK_SET) == 0 && std::fwrite(riff.data(), 1, 4, file_) == 4 &&
      std::fseek(file_, 40, SEEK_SET) == 0 && std::fwrite(data.data(), 1, 4, file_) == 4 &&
      std::fseek(file_, 0, SEEK_END) == 0 && std::fflush(file_) == 0;
  if (!ok) return Unavailable(fmt::format("wav: header update failed: {}", std::strerror(errno)));
  return Ok();
}

Result<void> WavWriter::Finish() {
  if (file_ == nullptr) return Ok();
  auto patched = PatchSizes();
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!patched) return patched;
  if (!closed) return Unavailable(fmt::format("wav: close failed: {}", std::strerror(errno)));
  return Ok();
}

Result<void> RepairWavFile(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size < 44) return InvalidArgument(fmt::format("{} is not a WAV file", path.string()));
  std::FILE* f = std::fopen(path.c_str(), "r+b");
  if (f == nullptr) return Unavailable(fmt::format("cannot open {}", path.string()));
  char head[44];
  const bool ok = std::fread(head, 1, sizeof head, f) == sizeof head &&
                  std::string_view(head, 4) == "RIFF" && std::string_view(head + 36, 4) == "data";
  if (ok) {
    // Whole stereo 16-bit frames only.
    const auto data = static_cast<uint32_t>((size - 44) / 4 * 4);
    const uint32_t riff = data + 36;
    auto put32 = [&](long offset, uint32_t v) {
      const unsigned char b[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
      std::fseek(f, offset, SEEK_SET);
      std::fwrite(b, 1, 4, f);
    };
    put32(4, riff);
    put32(40, data);
  }
  std::fclose(f);
  if (!ok) return InvalidArgument(fmt::format("{} has an unexpected WAV header", path.string()));
  return Ok();
}

}  // namespace tempo::audio
