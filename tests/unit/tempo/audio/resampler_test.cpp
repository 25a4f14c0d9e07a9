#include "tempo/audio/resampler.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numbers>
#include <tuple>
#include <vector>

namespace tempo::audio {
namespace {

std::vector<int16_t> Sine(double freq, int rate, std::size_t samples, double amplitude) {
  std::vector<int16_t> out(samples);
  for (std::size_t i = 0; i < samples; ++i) {
    out[i] = static_cast<int16_t>(
        std::lround(amplitude * std::sin(2 * std::numbers::pi * freq * static_cast<double>(i) /
                                         static_cast<double>(rate))));
  }
  return out;
}

double Rms(std::span<const int16_t> x) {
  double sum = 0;
  for (const int16_t v : x) sum += static_cast<double>(v) * v;
  return std::sqrt(sum / static_cast<double>(x.size()));
}

// Feeds `in` as 20 ms frames of its rate, then flushes.
std::vector<int16_t> RunFrames(Resampler& r, std::span<const int16_t> in, int flush) {
  std::vector<int16_t> out;
  const auto frame = static_cast<std::size_t>(r.in_rate() / 50);
  for (std::size_t i = 0; i < in.size(); i += frame) {
    r.Process(in.subspan(i, std::min(frame, in.size() - i)), out);
  }
  if (flush != 0) r.Flush(out);
  return out;
}

TEST(ResamplerTest, RejectsBadArguments) {
  EXPECT_FALSE(Resampler::Create(0, 8000));
  EXPECT_FALSE(Resampler::Create(8000, -1));
  EXPECT_FALSE(Resampler::Create(8000, 16000, 11));
  EXPECT_FALSE(Resampler::Create(8000, 16000, -1));
  const auto r = Resampler::Create(8000, 16000, 11);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(ResamplerTest, SameRateIsACopy) {
  auto r = Resampler::Create(8000, 8000);
  ASSERT_TRUE(r);
  const auto in = Sine(440, 8000, 333, 8000);
  std::vector<int16_t> out;
  r->Process(in, out);
  r->Flush(out);
  EXPECT_EQ(out, in);
}

class ResamplerRateTest : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(ResamplerRateTest, OutputLengthTracksRateRatio) {
  const auto [in_rate, out_rate] = GetParam();
  auto r = Resampler::Create(in_rate, out_rate);
  ASSERT_TRUE(r);
  const std::size_t in_frame = static_cast<std::size_t>(in_rate) / 50;
  const std::size_t out_frame = static_cast<std::size_t>(out_rate) / 50;
  const auto in = Sine(300, in_rate, in_frame * 1000, 5000);  // 20 s
  std::vector<int16_t> out;
  std::size_t fed = 0;
  for (std::size_t i = 0; i < in.size(); i += in_frame) {
    r->Process(std::span(in).subspan(i, in_frame), out);
    fed += in_frame;
    const double expected = static_cast<double>(fed) * out_rate / in_rate;
    ASSERT_LE(std::abs(static_cast<double>(out.size()) - expected), static_cast<double>(out_frame))
        << "after " << fed << " input samples";
  }
  r->Flush(out);
  const double expected = static_cast<double>(in.size()) * out_rate / in_rate;
  EXPECT_LE(std::abs(static_cast<double>(out.size()) - expected), 2.0);
}

TEST_P(ResamplerRateTest, ChunkingDoesNotChangeOutput) {
  const auto [in_rate, out_rate] = GetParam();
  const auto in = Sine(700, in_rate, static_cast<std::size_t>(in_rate), 12000);
  auto one = Resampler::Create(in_rate, out_rate);
  auto framed = Resampler::Create(in_rate, out_rate);
  auto ragged = Resampler::Create(in_rate, out_rate);
  ASSERT_TRUE(one && framed && ragged);
  std::vector<int16_t> whole;
  one->Process(in, whole);
  one->Flush(whole);
  const auto by_frame = RunFrames(*framed, in, 1);
  std::vector<int16_t> by_ragged;
  std::size_t pos = 0;
  std::size_t step = 1;
  while (pos < in.size()) {
    const std::size_t n = std::min(step, in.size() - pos);
    ragged->Process(std::span(in).subspan(pos, n), by_ragged);
    pos += n;
    step = step * 7 % 331 + 1;  // deterministic, irregular sizes 1..331
  }
  ragged->Flush(by_ragged);
  EXPECT_EQ(by_frame, whole);
  EXPECT_EQ(by_ragged, whole);
}

INSTANTIATE_TEST_SUITE_P(Rates, ResamplerRateTest,
                         ::testing::Values(std::tuple{8000, 16000}, std::tuple{16000, 8000},
                                           std::tuple{24000, 8000}, std::tuple{8000, 24000},
                                           std::tuple{22050, 8000}, std::tuple{24000, 16000}));

TEST(ResamplerTest, SineSurvivesUpAndDown) {
  const auto in = Sine(440, 8000, 16000, 10000);  // 2 s
  auto up = Resampler::Create(8000, 16000);
  auto down = Resampler::Create(16000, 8000);
  ASSERT_TRUE(up && down);
  const auto wide = RunFrames(*up, in, 1);
  const auto back = RunFrames(*down, wide, 1);
  ASSERT_GE(back.size(), in.size() - 2);

  // Compensate whatever delay is left, then compare the steady-state middle.
  const std::size_t begin = 400;
  const std::size_t end = in.size() - 400;
  double best_snr = -1000;
  int best_delay = 0;
  for (int delay = -20; delay <= 20; ++delay) {
    double signal = 0;
    double noise = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const double ref = in[i];
      const double got = back[static_cast<std::size_t>(static_cast<int>(i) + delay)];
      signal += ref * ref;
      noise += (got - ref) * (got - ref);
    }
    const double snr = 10 * std::log10(signal / std::max(noise, 1e-9));
    if (snr > best_snr) {
      best_snr = snr;
      best_delay = delay;
    }
  }
  EXPECT_GT(best_snr, 25.0) << "delay " << best_delay;
  // Leading zeros are skipped, so the round trip is (nearly) aligned.
  EXPECT_LE(std::abs(best_delay), 2);
}

TEST(ResamplerTest, DownsamplingRejectsToneAboveNewNyquist) {
  auto alias = Resampler::Create(24000, 8000);
  auto pass = Resampler::Create(24000, 8000);
  ASSERT_TRUE(alias && pass);
  const auto high = Sine(5000, 24000, 24000, 10000);  // would alias to 3 kHz
  const auto low = Sine(1000, 24000, 24000, 10000);
  const auto high_out = RunFrames(*alias, high, 1);
  const auto low_out = RunFrames(*pass, low, 1);
  const auto middle = [](const std::vector<int16_t>& v) {
    return std::span(v).subspan(400, v.size() - 800);
  };
  const double in_rms = Rms(high);
  const double high_db = 20 * std::log10(std::max(Rms(middle(high_out)), 1e-3) / in_rms);
  const double low_db = 20 * std::log10(Rms(middle(low_out)) / Rms(low));
  EXPECT_LT(high_db, -60.0);  // quality 0 only reaches about -43 dB here
  EXPECT_GT(low_db, -1.0);
  EXPECT_LT(low_db, 1.0);
}

TEST(ResamplerTest, NoAllocationWhenCapacitySuffices) {
  auto r = Resampler::Create(8000, 16000);
  ASSERT_TRUE(r);
  const auto in = Sine(440, 8000, 160, 8000);
  std::vector<int16_t> out;
  out.reserve(r->MaxOutputSize(in.size()) * 10);
  const int16_t* data = out.data();
  for (int i = 0; i < 10; ++i) r->Process(in, out);
  EXPECT_EQ(out.data(), data);
  EXPECT_GT(out.size(), 3000u);
}

TEST(ResamplerTest, ResetForgetsHistory) {
  const auto first = Sine(300, 16000, 3200, 9000);
  const auto second = Sine(900, 16000, 3200, 9000);
  auto used = Resampler::Create(16000, 8000);
  auto fresh = Resampler::Create(16000, 8000);
  ASSERT_TRUE(used && fresh);
  std::vector<int16_t> ignored;
  used->Process(first, ignored);
  used->Reset();
  std::vector<int16_t> a;
  std::vector<int16_t> b;
  used->Process(second, a);
  fresh->Process(second, b);
  EXPECT_EQ(a, b);
}

TEST(ResamplerTest, MovedResamplerKeepsWorking) {
  auto created = Resampler::Create(8000, 16000, 3);
  ASSERT_TRUE(created);
  Resampler r = std::move(*created);
  std::vector<int16_t> out;
  r.Process(Sine(440, 8000, 800, 8000), out);
  EXPECT_GT(out.size(), 1500u);
  EXPECT_EQ(r.out_rate(), 16000);
}

}  // namespace
}  // namespace tempo::audio
