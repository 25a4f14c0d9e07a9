#include "tempo/audio/mixer.hpp"

#include "tempo/audio/wav.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace tempo::audio {
namespace {

using std::chrono::milliseconds;

class StereoMixerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::path(::testing::TempDir()) /
            (std::string("mixer_") +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".wav");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  StereoMixer MakeMixer() {
    auto writer = WavWriter::Open(path_, 8000, 2);
    EXPECT_TRUE(writer);
    auto mixer = StereoMixer::Create(std::move(*writer));
    EXPECT_TRUE(mixer);
    return std::move(*mixer);
  }

  // Splits the finished file into its two channels.
  void ReadBack(std::vector<int16_t>& left, std::vector<int16_t>& right) {
    const auto wav = ReadWavFile(path_);
    ASSERT_TRUE(wav) << wav.error().message;
    ASSERT_EQ(wav->channels, 2);
    ASSERT_EQ(wav->sample_rate, 8000);
    for (std::size_t i = 0; i + 1 < wav->samples.size(); i += 2) {
      left.push_back(wav->samples[i]);
      right.push_back(wav->samples[i + 1]);
    }
  }

  std::filesystem::path path_;
};

std::vector<int16_t> Constant(std::size_t n, int16_t v) { return std::vector<int16_t>(n, v); }

TEST_F(StereoMixerTest, PlacesChannelsAtTheirTimestamps) {
  auto mixer = MakeMixer();
  ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(0), Constant(160, 100)));
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(40), Constant(80, 200)));
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(left.size(), 400u);  // ends with the agent chunk at 40 ms + 10 ms
  for (std::size_t i = 0; i < 400; ++i) {
    ASSERT_EQ(left[i], i < 160 ? 100 : 0) << i;
    ASSERT_EQ(right[i], i >= 320 ? 200 : 0) << i;
  }
  EXPECT_EQ(mixer.displaced_chunks(), 0u);
}

TEST_F(StereoMixerTest, GapsBecomeSilence) {
  auto mixer = MakeMixer();
  ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(0), Constant(160, 1)));
  ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(20), Constant(160, 2)));
  ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(60), Constant(160, 3)));  // 40..60 lost
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(left.size(), 640u);
  for (std::size_t i = 0; i < 640; ++i) {
    const int16_t expected = i < 160 ? 1 : i < 320 ? 2 : i < 480 ? 0 : 3;
    ASSERT_EQ(left[i], expected) << i;
    ASSERT_EQ(right[i], 0) << i;
  }
}

TEST_F(StereoMixerTest, OverlappingChunkIsAppendedNotLost) {
  auto mixer = MakeMixer();
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(0), Constant(320, 5)));  // 0..40 ms
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(20), Constant(160, 6)));
  EXPECT_EQ(mixer.displaced_chunks(), 1u);
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(right.size(), 480u);
  for (std::size_t i = 0; i < 480; ++i) ASSERT_EQ(right[i], i < 320 ? 5 : 6) << i;
  EXPECT_EQ(left, Constant(480, 0));
}

TEST_F(StereoMixerTest, WritesIncrementallyWhileOneSideIsIdle) {
  auto mixer = MakeMixer();
  for (int t = 0; t < 2000; t += 20) {
    ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(t), Constant(160, 7)));
  }
  // Clock is at 1980 ms: the agent side is silent up to 1780 ms, so that much is in the file.
  EXPECT_EQ(mixer.frames_written(), 1780u * 8);
  // Agent audio within the idle window still lands at its timestamp.
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(1900), Constant(160, 9)));
  EXPECT_EQ(mixer.displaced_chunks(), 0u);
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(left.size(), 16000u);
  EXPECT_EQ(left, Constant(16000, 7));
  for (std::size_t i = 0; i < right.size(); ++i) {
    ASSERT_EQ(right[i], (i >= 15200 && i < 15360) ? 9 : 0) << i;
  }
}

TEST_F(StereoMixerTest, AgentBurstAheadDoesNotDisplaceCaller) {
  auto mixer = MakeMixer();
  // TTS delivers three seconds at once; the caller keeps streaming in real time.
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(100), Constant(24000, 4)));
  for (int t = 0; t < 3000; t += 20) {
    ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(t), Constant(160, 8)));
  }
  EXPECT_EQ(mixer.displaced_chunks(), 0u);
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(left.size(), 800u + 24000u);
  for (std::size_t i = 0; i < left.size(); ++i) {
    ASSERT_EQ(left[i], i < 24000 ? 8 : 0) << i;
    ASSERT_EQ(right[i], i >= 800 ? 4 : 0) << i;
  }
}

TEST_F(StereoMixerTest, LateChunkBehindIdleFillIsAppended) {
  auto mixer = MakeMixer();
  for (int t = 0; t < 1000; t += 20) {
    ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(t), Constant(160, 1)));
  }
  // Agent audio stamped 100 ms arrives when its side is already silent up to 780 ms.
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(100), Constant(160, 2)));
  EXPECT_EQ(mixer.displaced_chunks(), 1u);
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(right.size(), 8000u);
  for (std::size_t i = 0; i < right.size(); ++i) {
    ASSERT_EQ(right[i], (i >= 6240 && i < 6400) ? 2 : 0) << i;
  }
}

TEST_F(StereoMixerTest, AdvanceToWritesSilenceWithoutAudio) {
  auto mixer = MakeMixer();
  ASSERT_TRUE(mixer.AdvanceTo(milliseconds(1000)));
  EXPECT_EQ(mixer.frames_written(), 800u * 8);
  ASSERT_TRUE(mixer.Finish());
  EXPECT_FALSE(mixer.Finish());
  EXPECT_FALSE(mixer.Add(MixChannel::kCaller, milliseconds(0), Constant(1, 1)));
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  EXPECT_EQ(left, Constant(6400, 0));
  EXPECT_EQ(right, Constant(6400, 0));
}

TEST_F(StereoMixerTest, FinishEqualizesLengths) {
  auto mixer = MakeMixer();
  ASSERT_TRUE(mixer.Add(MixChannel::kCaller, milliseconds(0), Constant(100, 3)));
  ASSERT_TRUE(mixer.Add(MixChannel::kAgent, milliseconds(0), Constant(250, 4)));
  EXPECT_EQ(mixer.frames_written(), 100u);
  ASSERT_TRUE(mixer.Finish());
  std::vector<int16_t> left;
  std::vector<int16_t> right;
  ReadBack(left, right);
  ASSERT_EQ(left.size(), 250u);
  ASSERT_EQ(right.size(), 250u);
  for (std::size_t i = 0; i < 250; ++i) {
    ASSERT_EQ(left[i], i < 100 ? 3 : 0);
    ASSERT_EQ(right[i], 4);
  }
}

TEST_F(StereoMixerTest, RejectsMonoWriter) {
  auto writer = WavWriter::Open(path_, 8000, 1);
  ASSERT_TRUE(writer);
  const auto mixer = StereoMixer::Create(std::move(*writer));
  ASSERT_FALSE(mixer);
  EXPECT_EQ(mixer.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace tempo::audio
