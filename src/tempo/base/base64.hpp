#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::base64 {

/// Standard alphabet, with '=' padding.
std::string Encode(std::span<const uint8_t> bytes);
inline std::string Encode(std::string_view s) {
  return Encode({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}
/// Appends the encoding to `out` (no allocation when `out` has capacity).
void EncodeTo(std::span<const uint8_t> bytes, std::string& out);

/// Strict decode of the standard alphabet: padding required, no whitespace.
Result<std::vector<uint8_t>> Decode(std::string_view text);
/// Decodes into `out` (cleared first), reusing its capacity. Hot-path form.
Result<void> DecodeTo(std::string_view text, std::vector<uint8_t>& out);
/// Exact decoded size of a well-formed input, or an error.
Result<size_t> DecodedSize(std::string_view text);

}  // namespace tempo::base64
