#include "tempo/control/crypto.hpp"

#include "tempo/base/base64.hpp"
#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sodium.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace tempo::control {
namespace {

Result<SecretBox::Key> DecodeKey(std::string_view text, std::string_view origin) {
  auto bytes = base64::Decode(Trim(text));
  if (!bytes || bytes->size() != SecretBox::kKeyBytes) {
    return InvalidArgument(
        fmt::format("{} must be the base64 encoding of exactly 32 bytes", origin));
  }
  SecretBox::Key key{};
  std::memcpy(key.data(), bytes->data(), key.size());
  sodium_memzero(bytes->data(), bytes->size());
  return key;
}

}  // namespace

Result<void> InitCrypto() {
  if (sodium_init() < 0) return Internal("libsodium failed to initialise");
  return Ok();
}

Result<std::string> HashPassword(std::string_view password, PasswordCost cost) {
  char out[crypto_pwhash_STRBYTES];
  const auto ops = cost == PasswordCost::kInteractive ? crypto_pwhash_OPSLIMIT_INTERACTIVE
                                                      : crypto_pwhash_OPSLIMIT_MIN;
  const auto mem = cost == PasswordCost::kInteractive ? crypto_pwhash_MEMLIMIT_INTERACTIVE
                                                      : crypto_pwhash_MEMLIMIT_MIN;
  if (crypto_pwhash_str(out, password.data(), password.size(), ops, mem) != 0) {
    return ResourceExhausted("not enough memory to hash the password");
  }
  return std::string(out);
}

bool VerifyPassword(std::string_view password, std::string_view hash) {
  if (hash.size() >= crypto_pwhash_STRBYTES) return false;
  char buf[crypto_pwhash_STRBYTES] = {};
  std::memcpy(buf, hash.data(), hash.size());
  return crypto_pwhash_str_verify(buf, password.data(), password.size()) == 0;
}

std::string RandomToken(size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string out(sodium_base64_ENCODED_LEN(bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string RandomHex(size_t bytes) {
  std::vector<uint8_t> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), raw.data(), raw.size());
  out.pop_back();
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

SecretBox::SecretBox(const Key& key) : key_(key) {}
SecretBox::~SecretBox() { sodium_memzero(key_.data(), key_.size()); }

std::string SecretBox::Seal(std::string_view plaintext) const {
  std::vector<uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                           plaintext.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const uint8_t*>(plaintext.data()), plaintext.size(),
                        out.data(), key_.data());
  return "v1:" + base64::Encode(out);
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  if (sealed.substr(0, 3) != "v1:") return InvalidArgument("unknown secret format");
  auto raw = base64::Decode(sealed.substr(3));
  if (!raw || raw->size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return InvalidArgument("malformed secret");
  }
  const size_t cipher_len = raw->size() - crypto_secretbox_NONCEBYTES;
  std::string plain(cipher_len - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<uint8_t*>(plain.data()),
                                 raw->data() + crypto_secretbox_NONCEBYTES, cipher_len, raw->data(),
                                 key_.data()) != 0) {
    return Error{ErrorCode::kPermissionDenied,
                 "secret cannot be decrypted with this key (wrong TEMPO_SECRET_KEY?)"};
  }
  return plain;
}

Result<SecretBox::Key> LoadOrCreateKey(const std::optional<std::string>& env_value,
                                       const std::filesystem::path& key_file) {
  TEMPO_TRY(InitCrypto());
  if (env_value && !env_value->empty()) return DecodeKey(*env_value, "TEMPO_SECRET_KEY");

  std::error_code ec;
  if (std::filesystem::exists(key_file, ec)) {
    std::ifstream in(key_file);
    if (!in) return Unavailable(fmt::format("cannot read {}", key_file.string()));
    std::stringstream text;
    text << in.rdbuf();
    return DecodeKey(text.str(), key_file.string());
  }
  std::filesystem::create_directories(key_file.parent_path(), ec);
  SecretBox::Key key{};
  randombytes_buf(key.data(), key.size());
  const std::string text = base64::Encode(key) + "\n";
  // O_EXCL: two processes starting at once must not each write a different key.
  const int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return LoadOrCreateKey(std::nullopt, key_file);
    return Unavailable(
        fmt::format("cannot create {}: {}", key_file.string(), std::strerror(errno)));
  }
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!written || !synced) {
    return Unavailable(fmt::format("cannot write {}", key_file.string()));
  }
  return key;
}

}  // namespace tempo::control
