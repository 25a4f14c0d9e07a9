#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <span>

namespace tempo::audio {

/// ITU-T G.711 companding of 16-bit linear PCM (μ-law as used by Twilio Media Streams, and
/// A-law). All functions are pure, allocation-free and thread-safe.
///
/// Encoding follows the G.711 decision intervals: every code stands for an interval of linear
/// values and decodes to that interval's midpoint. Inside a segment this is the nearest code;
/// at a segment boundary the first value of the coarser segment maps to the coarser code (as
/// in G.711 itself, not a strict nearest-value search).
///
/// μ-law has two zeros: 0xFF (+0) and 0x7F (-0) both decode to 0. Encoding 0 gives 0xFF, so
/// 0x7F does not survive decode -> encode (it becomes 0xFF); every other code round-trips.
/// Negative inputs in -1..-3 encode to 0x7F (-0), whose value 0 is also the nearest one.

namespace detail {
inline constexpr std::array<int16_t, 256> MakeMulawTable() {
  std::array<int16_t, 256> table{};
  for (int code = 0; code < 256; ++code) {
    const int u = ~code & 0xFF;
    const int exponent = (u >> 4) & 0x07;
    const int mantissa = u & 0x0F;
    const int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    table[code] = static_cast<int16_t>((u & 0x80) ? -magnitude : magnitude);
  }
  return table;
}

inline constexpr std::array<int16_t, 256> MakeAlawTable() {
  std::array<int16_t, 256> table{};
  for (int code = 0; code < 256; ++code) {
    const int a = code ^ 0x55;
    const int segment = (a >> 4) & 0x07;
    int magnitude = (a & 0x0F) << 4;
    if (segment == 0) {
      magnitude += 8;
    } else {
      magnitude = (magnitude + 0x108) << (segment - 1);
    }
    table[code] = static_cast<int16_t>((a & 0x80) ? magnitude : -magnitude);
  }
  return table;
}
}  // namespace detail

/// Decoded value of every μ-law / A-law code.
inline constexpr std::array<int16_t, 256> kMulawToLinear = detail::MakeMulawTable();
inline constexpr std::array<int16_t, 256> kAlawToLinear = detail::MakeAlawTable();

/// μ-law code of digital silence (+0).
inline constexpr uint8_t kMulawSilence = 0xFF;
/// A-law code closest to silence (+8).
inline constexpr uint8_t kAlawSilence = 0xD5;

inline int16_t MulawToLinear(uint8_t code) { return kMulawToLinear[code]; }
inline int16_t AlawToLinear(uint8_t code) { return kAlawToLinear[code]; }

/// One sample to μ-law: bias by 132, the segment is the position of the top bit.
inline uint8_t LinearToMulaw(int16_t sample) {
  constexpr int kBias = 0x84;
  constexpr int kClip = 32635;
  const int value = sample;
  const int sign = value < 0 ? 0x80 : 0x00;
  int magnitude = value < 0 ? -value : value;
  if (magnitude > kClip) magnitude = kClip;
  const auto biased = static_cast<unsigned>(magnitude + kBias);  // 132..32767
  const int segment = std::bit_width(biased) - 8;                // 0..7
  const int mantissa = static_cast<int>(biased >> (segment + 3)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (segment << 4) | mantissa));
}

/// One sample to A-law: negative values use the one's complement magnitude (G.711 A-law has
/// no zero code, so -1 and 0 land on the two codes next to zero).
inline uint8_t LinearToAlaw(int16_t sample) {
  const int value = sample;
  const int sign = value >= 0 ? 0x80 : 0x00;
  const auto magnitude13 = static_cast<unsigned>((value >= 0 ? value : ~value) >> 3);  // 0..4095
  const int segment = magnitude13 < 32 ? 0 : std::bit_width(magnitude13) - 5;          // 0..7
  const int shift = segment == 0 ? 1 : segment;
  const int mantissa = static_cast<int>(magnitude13 >> shift) & 0x0F;
  return static_cast<uint8_t>((sign | (segment << 4) | mantissa) ^ 0x55);
}

/// Bulk forms: convert min(in.size(), out.size()) values and return that count (callers size
/// `out` to `in`; a short `out` truncates rather than overruns).
std::size_t MulawDecode(std::span<const uint8_t> in, std::span<int16_t> out);
std::size_t MulawEncode(std::span<const int16_t> in, std::span<uint8_t> out);
std::size_t AlawDecode(std::span<const uint8_t> in, std::span<int16_t> out);
std::size_t AlawEncode(std::span<const int16_t> in, std::span<uint8_t> out);

}  // namespace tempo::audio
