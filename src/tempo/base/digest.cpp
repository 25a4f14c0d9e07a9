#include "tempo/base/digest.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace tempo {

Sha256Digest Sha256(std::string_view data) {
  Sha256Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return digest;
}

Md5Digest Md5(std::string_view data) {
  Md5Digest digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_md5(), nullptr);
  return digest;
}

Sha256Digest HmacSha256(std::span<const uint8_t> key, std::string_view message) {
  Sha256Digest digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest.data(),
       &length);
  return digest;
}

Sha256Digest HmacSha256(std::string_view key, std::string_view message) {
  return HmacSha256(std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()), message);
}

std::string HexLower(std::span<const uint8_t> bytes) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::string Sha256Hex(std::string_view data) { return HexLower(Sha256(data)); }

}  // namespace tempo
