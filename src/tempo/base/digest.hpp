#pragma once

// SHA-256 and HMAC-SHA256 (OpenSSL underneath, not in this header), for request signatures:
// AWS SigV4, Twilio's bodySHA256, webhook signatures. Pure functions, thread-safe.

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace tempo {

using Sha256Digest = std::array<uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
using Md5Digest = std::array<uint8_t, 16>;
/// MD5 of `data`: only for S3's Content-MD5 integrity header, never for security.
Md5Digest Md5(std::string_view data);
/// HMAC-SHA256 of `message` under `key` (any length; RFC 2104).
Sha256Digest HmacSha256(std::span<const uint8_t> key, std::string_view message);
Sha256Digest HmacSha256(std::string_view key, std::string_view message);

/// Lower-case hex of `bytes` ("00ff…").
std::string HexLower(std::span<const uint8_t> bytes);
/// HexLower(Sha256(data)).
std::string Sha256Hex(std::string_view data);

}  // namespace tempo
