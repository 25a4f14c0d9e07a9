#include "tempo/base/base64.hpp"

#include <array>

namespace tempo::base64 {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeReverse() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr auto kReverse = MakeReverse();

}  // namespace

void EncodeTo(std::span<const uint8_t> bytes, std::string& out) {
  const size_t start = out.size();
  out.resize(start + (bytes.size() + 2) / 3 * 4);
  char* p = out.data() + start;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = kAlphabet[(v >> 6) & 63];
    *p++ = kAlphabet[v & 63];
  }
  if (const size_t rest = bytes.size() - i; rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    *p++ = kAlphabet[(v >> 18) & 63];
    *p++ = kAlphabet[(v >> 12) & 63];
    *p++ = rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    *p++ = '=';
  }
}

std::string Encode(std::span<const uint8_t> bytes) {
  std::string out;
  EncodeTo(bytes, out);
  return out;
}

Result<size_t> DecodedSize(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidArgument("base64 length is not a multiple of 4");
  if (text.empty()) return size_t{0};
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  return text.size() / 4 * 3 - pad;
}

Result<void> DecodeTo(std::string_view text, std::vector<uint8_t>& out) {
  out.clear();
  TEMPO_ASSIGN_OR_RETURN(const size_t size, DecodedSize(text));
  out.resize(size);
  uint8_t* p = out.data();
  for (size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    int v[4];
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        // Padding only in the last two places of the final quantum, and nothing after it.
        if (k == 2 && text[i + 3] != '=') return InvalidArgument("base64 padding is malformed");
        v[k] = 0;
        continue;
      }
      v[k] = kReverse[static_cast<uint8_t>(c)];
      if (v[k] < 0) return InvalidArgument("base64 has a character outside the alphabet");
    }
    const uint32_t n =
        (uint32_t(v[0]) << 18) | (uint32_t(v[1]) << 12) | (uint32_t(v[2]) << 6) | uint32_t(v[3]);
    const size_t remaining = size - static_cast<size_t>(p - out.data());
    *p++ = static_cast<uint8_t>(n >> 16);
    if (remaining > 1) *p++ = static_cast<uint8_t>(n >> 8);
    if (remaining > 2) *p++ = static_cast<uint8_t>(n);
  }
  return Ok();
}

Result<std::vector<uint8_t>> Decode(std::string_view text) {
  std::vector<uint8_t> out;
  TEMPO_TRY(DecodeTo(text, out));
  return out;
}

}  // namespace tempo::base64
