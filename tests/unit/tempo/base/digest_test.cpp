#include "tempo/base/digest.hpp"

#include "tempo/base/utc_time.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tempo {
namespace {

TEST(Digest, Sha256KnownAnswers) {
  // FIPS 180-2 examples.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, HmacSha256Rfc4231) {
  // RFC 4231 test cases 1 and 6 (a key longer than the block size).
  const std::string key1(20, '\x0b');
  EXPECT_EQ(HexLower(HmacSha256(key1, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const std::vector<uint8_t> key6(131, 0xaa);
  EXPECT_EQ(HexLower(HmacSha256(key6, "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(UtcTime, ParsesTheFormsApisSend) {
  EXPECT_EQ(ParseUtcTimeMs("1970-01-02").value(), 86'400'000);
  EXPECT_EQ(ParseUtcTimeMs("2026-12-03T12:00:00Z").value(), 1'796'299'200'000);
  EXPECT_EQ(ParseUtcTimeMs("2026-12-03T12:00:00.5Z").value(), 1'796'299'200'500);
  EXPECT_EQ(ParseUtcTimeMs("2026-12-03T12:00:00.123456789Z").value(), 1'796'299'200'123);
  EXPECT_EQ(ParseUtcTimeMs("2026-12-03 12:00:00+00:00").value(), 1'796'299'200'000);
  for (const char* bad :
       {"", "2026-12-03T12:00:00", "2026-12-03T12:00:00+02:00", "2026-12-03T12:00:00.Z",
        "2026-12-03T12:00:00.1234567890Z", "2026-13-03", "2026-12-03T25:00:00Z", "yesterday"}) {
    EXPECT_FALSE(ParseUtcTimeMs(bad)) << bad;
  }
  EXPECT_EQ(FormatUtcTimeMs(1'796'299'200'123), "2026-12-03T12:00:00.123Z");
  EXPECT_EQ(FormatUtcDay(1'796'299'200'123), "2026-12-03");
}

}  // namespace
}  // namespace tempo
