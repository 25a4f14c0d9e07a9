#pragma once

#include "tempo/base/digest.hpp"
#include "tempo/base/result.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace tempo::control {

/// Initialises libsodium (idempotent, thread-safe). Fails only if the library cannot start.
Result<void> InitCrypto();

/// How much work a password hash costs. kInteractive is libsodium's interactive limit
/// (production); kMinimum exists for tests, where many hashes are computed under sanitizers.
enum class PasswordCost { kInteractive, kMinimum };

/// Argon2id hash in libsodium's self-describing string form ("$argon2id$v=19$...").
Result<std::string> HashPassword(std::string_view password, PasswordCost cost);
/// True when `password` matches `hash` (constant time in the password).
bool VerifyPassword(std::string_view password, std::string_view hash);

/// `bytes` random bytes from the OS CSPRNG, base64url without padding.
std::string RandomToken(size_t bytes);
/// `bytes` random bytes as lower-case hex (for ids).
std::string RandomHex(size_t bytes);
// Tokens are stored only as their SHA-256: tempo::Sha256Hex (base/digest.hpp).
/// Constant-time equality of two strings of the same length (false when lengths differ).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

/// Symmetric authenticated encryption of small secrets at rest (libsodium secretbox:
/// XSalsa20-Poly1305 with a random nonce per message). Thread-safe (immutable).
class SecretBox {
 public:
  static constexpr size_t kKeyBytes = 32;
  using Key = std::array<uint8_t, kKeyBytes>;

  explicit SecretBox(const Key& key);
  ~SecretBox();
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  /// "v1:" + base64(nonce || ciphertext).
  [[nodiscard]] std::string Seal(std::string_view plaintext) const;
  /// The plaintext. Errors: kInvalidArgument for a malformed text, kPermissionDenied when the
  /// text was not sealed with this key or was altered.
  [[nodiscard]] Result<std::string> Open(std::string_view sealed) const;

 private:
  Key key_;
};

/// Where the secret key comes from: the environment value if given (base64 of 32 bytes),
/// else `key_file`, created with mode 0600 and a random key on first use.
/// Errors: kInvalidArgument for a malformed key (the key itself never appears in messages);
/// kUnavailable when the file cannot be read or created.
Result<SecretBox::Key> LoadOrCreateKey(const std::optional<std::string>& env_value,
                                       const std::filesystem::path& key_file);

}  // namespace tempo::control
