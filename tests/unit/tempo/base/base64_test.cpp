#include "tempo/base/base64.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tempo::base64 {
namespace {

std::string AsString(const std::vector<uint8_t>& v) { return {v.begin(), v.end()}; }

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Encode(plain), encoded);
    auto decoded = Decode(encoded);
    ASSERT_TRUE(decoded) << encoded;
    EXPECT_EQ(AsString(*decoded), plain);
  }
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::vector<uint8_t> bytes;
  for (int n = 0; n < 300; ++n) {
    bytes.push_back(static_cast<uint8_t>(n * 7 + 3));
    auto back = Decode(Encode(bytes));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, bytes);
  }
}

TEST(Base64, RejectsMalformedInput) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zg=a", "Zm9v!A==", "Zm 9v", "=Zm9", "Zg==Zg=="}) {
    EXPECT_FALSE(Decode(bad)) << bad;
  }
}

TEST(Base64, DecodeToReusesTheBuffer) {
  std::vector<uint8_t> out;
  out.reserve(256);
  const auto* before = out.data();
  ASSERT_TRUE(DecodeTo("Zm9vYmFy", out));
  EXPECT_EQ(out.data(), before);
  EXPECT_EQ(AsString(out), "foobar");
  EXPECT_FALSE(DecodeTo("@@@@", out));
}

}  // namespace
}  // namespace tempo::base64
