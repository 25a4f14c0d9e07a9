#include "tempo/audio/g711.hpp"

#include <algorithm>

namespace tempo::audio {

std::size_t MulawDecode(std::span<const uint8_t> in, std::span<int16_t> out) {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = kMulawToLinear[in[i]];
  return n;
}

std::size_t MulawEncode(std::span<const int16_t> in, std::span<uint8_t> out) {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = LinearToMulaw(in[i]);
  return n;
}

std::size_t AlawDecode(std::span<const uint8_t> in, std::span<int16_t> out) {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = kAlawToLinear[in[i]];
  return n;
}

std::size_t AlawEncode(std::span<const int16_t> in, std::span<uint8_t> out) {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = LinearToAlaw(in[i]);
  return n;
}

}  // namespace tempo::audio
