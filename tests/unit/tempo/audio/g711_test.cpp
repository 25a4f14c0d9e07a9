#include "tempo/audio/g711.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace tempo::audio {
namespace {

// Straightforward reference encoders in the style of the classic CCITT sample code: search the
// segment end table, no bit tricks.
uint8_t ReferenceMulaw(int pcm) {
  constexpr std::array<int, 8> kSegEnd = {0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF, 0x3FFF, 0x7FFF};
  int mask = 0xFF;
  if (pcm < 0) {
    pcm = -pcm;
    mask = 0x7F;
  }
  if (pcm > 32635) pcm = 32635;
  pcm += 0x84;
  int seg = 0;
  while (seg < 8 && pcm > kSegEnd[seg]) ++seg;
  const int uval = (seg << 4) | ((pcm >> (seg + 3)) & 0xF);
  return static_cast<uint8_t>(uval ^ mask);
}

uint8_t ReferenceAlaw(int pcm) {
  constexpr std::array<int, 8> kSegEnd = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
  int mask = 0xD5;
  pcm >>= 3;  // arithmetic shift: floor
  if (pcm < 0) {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  int seg = 0;
  while (seg < 8 && pcm > kSegEnd[seg]) ++seg;
  int aval = seg << 4;
  aval |= (seg < 2) ? ((pcm >> 1) & 0xF) : ((pcm >> seg) & 0xF);
  return static_cast<uint8_t>(aval ^ mask);
}

// Reference decoders computed from the G.711 formulas, independent of the tables.
int ReferenceMulawDecode(uint8_t code) {
  const int u = ~code & 0xFF;
  const int t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4);
  return (u & 0x80) ? (0x84 - t) : (t - 0x84);
}

// Half the width of the quantisation step of the segment a magnitude falls in (μ-law, 16 bit).
int MulawHalfStep(int magnitude) {
  int seg = 0;
  while (seg < 7 && magnitude + 0x84 >= (256 << seg)) ++seg;
  return 4 << seg;
}

TEST(G711Test, KnownReferenceValues) {
  EXPECT_EQ(MulawToLinear(0xFF), 0);
  EXPECT_EQ(MulawToLinear(0x7F), 0);
  EXPECT_EQ(MulawToLinear(0x00), -32124);
  EXPECT_EQ(MulawToLinear(0x80), 32124);
  EXPECT_EQ(MulawToLinear(0xFE), 8);
  EXPECT_EQ(MulawToLinear(0x7E), -8);
  EXPECT_EQ(AlawToLinear(0xD5), 8);
  EXPECT_EQ(AlawToLinear(0x55), -8);
  EXPECT_EQ(AlawToLinear(0xAA), 32256);
  EXPECT_EQ(AlawToLinear(0x2A), -32256);
  EXPECT_EQ(LinearToMulaw(0), 0xFF);
  EXPECT_EQ(LinearToMulaw(32767), 0x80);
  EXPECT_EQ(LinearToMulaw(-32768), 0x00);
  EXPECT_EQ(LinearToAlaw(0), 0xD5);
  EXPECT_EQ(LinearToAlaw(-1), 0x55);
  EXPECT_EQ(LinearToAlaw(32767), 0xAA);
  EXPECT_EQ(LinearToAlaw(-32768), 0x2A);
  EXPECT_EQ(kMulawSilence, 0xFF);
}

TEST(G711Test, MulawTableMatchesFormula) {
  for (int code = 0; code < 256; ++code) {
    EXPECT_EQ(MulawToLinear(static_cast<uint8_t>(code)),
              ReferenceMulawDecode(static_cast<uint8_t>(code)))
        << code;
  }
}

TEST(G711Test, MulawEveryCodeRoundTripsExceptNegativeZero) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    const uint8_t back = LinearToMulaw(MulawToLinear(c));
    if (c == 0x7F) {
      // -0 decodes to 0, and 0 encodes as +0.
      EXPECT_EQ(back, 0xFF);
    } else {
      EXPECT_EQ(back, c) << "code " << code;
    }
  }
}

TEST(G711Test, AlawEveryCodeRoundTrips) {
  for (int code = 0; code < 256; ++code) {
    const auto c = static_cast<uint8_t>(code);
    EXPECT_EQ(LinearToAlaw(AlawToLinear(c)), c) << "code " << code;
  }
}

TEST(G711Test, MulawEncodeMatchesReferenceForEveryInput) {
  int mismatches = 0;
  for (int x = -32768; x <= 32767; ++x) {
    if (LinearToMulaw(static_cast<int16_t>(x)) != ReferenceMulaw(x)) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(G711Test, AlawEncodeMatchesReferenceForEveryInput) {
  int mismatches = 0;
  for (int x = -32768; x <= 32767; ++x) {
    if (LinearToAlaw(static_cast<int16_t>(x)) != ReferenceAlaw(x)) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(G711Test, MulawQuantisationErrorWithinHalfStep) {
  // Each code's decision interval is centred on its decoded value, so in-range inputs are off
  // by at most half a step of their segment; inside a segment the chosen code is the nearest.
  for (int x = -32635; x <= 32635; ++x) {
    const uint8_t code = LinearToMulaw(static_cast<int16_t>(x));
    const int decoded = MulawToLinear(code);
    const int error = std::abs(decoded - x);
    ASSERT_LE(error, MulawHalfStep(std::abs(x))) << x;
    // Codes are stored inverted: bit 7 set means positive.
    if (x > 0) {
      ASSERT_EQ(code & 0x80, 0x80) << x;
    }
    if (x < 0) {
      ASSERT_EQ(code & 0x80, 0x00) << x;
    }
    const uint8_t up = LinearToMulaw(static_cast<int16_t>(x + 1));
    ASSERT_LE(decoded, MulawToLinear(up)) << "encode must be monotonic at " << x;
  }
}

TEST(G711Test, AlawNearestWithinSegment) {
  for (int x = -32768; x <= 32767; ++x) {
    const uint8_t code = LinearToAlaw(static_cast<int16_t>(x));
    const int decoded = AlawToLinear(code);
    // The best code of the same segment (same high nibble) is no closer than the chosen one.
    int best = 1 << 30;
    for (int m = 0; m < 16; ++m) {
      // The XOR mask permutes mantissas, so all 16 low nibbles are the whole segment.
      const auto other = static_cast<uint8_t>((code & 0xF0) | m);
      best = std::min(best, std::abs(AlawToLinear(other) - x));
    }
    ASSERT_EQ(std::abs(decoded - x), best) << x;
    ASSERT_EQ((x >= 0), (decoded > 0)) << x;
    if (x < 32767) {
      ASSERT_LE(decoded, AlawToLinear(LinearToAlaw(static_cast<int16_t>(x + 1)))) << x;
    }
  }
}

TEST(G711Test, MulawNearestWithinSegment) {
  for (int x = -32768; x <= 32767; ++x) {
    const uint8_t code = LinearToMulaw(static_cast<int16_t>(x));
    const int decoded = MulawToLinear(code);
    int best = 1 << 30;
    for (int m = 0; m < 16; ++m) {
      const auto other = static_cast<uint8_t>((code & 0xF0) | m);
      best = std::min(best, std::abs(MulawToLinear(other) - x));
    }
    ASSERT_EQ(std::abs(decoded - x), best) << x;
  }
}

TEST(G711Test, BulkFunctionsMatchScalar) {
  std::vector<int16_t> pcm;
  for (int x = -32768; x <= 32767; x += 7) pcm.push_back(static_cast<int16_t>(x));
  std::vector<uint8_t> mu(pcm.size());
  std::vector<uint8_t> a(pcm.size());
  ASSERT_EQ(MulawEncode(pcm, mu), pcm.size());
  ASSERT_EQ(AlawEncode(pcm, a), pcm.size());
  std::vector<int16_t> mu_back(pcm.size());
  std::vector<int16_t> a_back(pcm.size());
  ASSERT_EQ(MulawDecode(mu, mu_back), pcm.size());
  ASSERT_EQ(AlawDecode(a, a_back), pcm.size());
  for (std::size_t i = 0; i < pcm.size(); ++i) {
    ASSERT_EQ(mu[i], LinearToMulaw(pcm[i]));
    ASSERT_EQ(a[i], LinearToAlaw(pcm[i]));
    ASSERT_EQ(mu_back[i], MulawToLinear(mu[i]));
    ASSERT_EQ(a_back[i], AlawToLinear(a[i]));
  }
}

TEST(G711Test, BulkWritesOnlyInputLength) {
  const std::array<uint8_t, 3> in = {0xFF, 0x00, 0x80};
  std::array<int16_t, 5> out;
  out.fill(1234);
  EXPECT_EQ(MulawDecode(in, out), 3u);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], -32124);
  EXPECT_EQ(out[2], 32124);
  EXPECT_EQ(out[3], 1234);
  EXPECT_EQ(out[4], 1234);
}

TEST(G711Test, BulkShortOutputTruncates) {
  const std::array<int16_t, 4> in = {0, 8, -8, 100};
  std::array<uint8_t, 2> out{};
  EXPECT_EQ(MulawEncode(in, out), 2u);
  EXPECT_EQ(out[0], 0xFF);
  EXPECT_EQ(out[1], 0xFE);
  EXPECT_EQ(AlawEncode(in, out), 2u);
  EXPECT_EQ(out[0], 0xD5);
}

}  // namespace
}  // namespace tempo::audio
