#include "tempo/audio/wav.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::audio {
namespace {

using Bytes = std::vector<uint8_t>;

void Le16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
void Le32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Tag(Bytes& b, std::string_view t) { b.insert(b.end(), t.begin(), t.end()); }

Bytes Chunk(std::string_view id, const Bytes& body, bool pad = true) {
  Bytes b;
  Tag(b, id);
  Le32(b, static_cast<uint32_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  if (pad && body.size() % 2 == 1) b.push_back(0);
  return b;
}

Bytes FmtBody(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits) {
  Bytes b;
  Le16(b, tag);
  Le16(b, channels);
  Le32(b, rate);
  Le32(b, rate * channels * bits / 8);
  Le16(b, static_cast<uint16_t>(channels * bits / 8));
  Le16(b, bits);
  return b;
}

Bytes Riff(const std::vector<Bytes>& chunks) {
  Bytes body;
  Tag(body, "WAVE");
  for (const auto& c : chunks) body.insert(body.end(), c.begin(), c.end());
  Bytes b;
  Tag(b, "RIFF");
  Le32(b, static_cast<uint32_t>(body.size()));
  b.insert(b.end(), body.begin(), body.end());
  return b;
}

Bytes Pcm(const std::vector<int16_t>& samples) {
  Bytes b;
  for (const int16_t s : samples) Le16(b, static_cast<uint16_t>(s));
  return b;
}

Bytes ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::filesystem::path TempPath(std::string_view name) {
  return std::filesystem::path(::testing::TempDir()) /
         (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
          std::string(name));
}

std::string ErrorOf(std::span<const uint8_t> bytes) {
  const auto r = ParseWav(bytes);
  return r ? std::string("ok") : r.error().message;
}

TEST(WavTest, ParsesPcm16Mono) {
  const std::vector<int16_t> samples = {0, 1, -1, 32767, -32768, 1234};
  const auto file = Riff({Chunk("fmt ", FmtBody(1, 1, 8000, 16)), Chunk("data", Pcm(samples))});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->sample_rate, 8000);
  EXPECT_EQ(wav->channels, 1);
  EXPECT_EQ(wav->encoding, WavEncoding::kPcm16);
  EXPECT_EQ(wav->samples, samples);
  EXPECT_EQ(wav->frames(), samples.size());
}

TEST(WavTest, ParsesMulawAndDecodes) {
  const Bytes codes = {0xFF, 0x00, 0x80, 0x7E, 0xFE};
  const auto file = Riff({Chunk("fmt ", FmtBody(7, 1, 8000, 8)), Chunk("data", codes)});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->encoding, WavEncoding::kMulaw);
  EXPECT_EQ(wav->samples, (std::vector<int16_t>{0, -32124, 32124, -8, 8}));
}

TEST(WavTest, AnyChunkOrderUnknownChunksAndPadBytes) {
  const std::vector<int16_t> samples = {10, -20, 30, -40};
  const Bytes odd = {'a', 'b', 'c'};  // odd size: followed by a pad byte
  const auto file = Riff({Chunk("LIST", odd), Chunk("data", Pcm(samples)), Chunk("junk", {1}),
                          Chunk("fmt ", FmtBody(1, 2, 16000, 16))});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->channels, 2);
  EXPECT_EQ(wav->sample_rate, 16000);
  EXPECT_EQ(wav->samples, samples);
  EXPECT_EQ(wav->frames(), 2u);
}

TEST(WavTest, OddDataChunkWithoutFinalPadIsAccepted) {
  const Bytes codes = {0xFF, 0xFE, 0x80};
  const auto file = Riff({Chunk("fmt ", FmtBody(7, 1, 8000, 8)), Chunk("data", codes, false)});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->samples.size(), 3u);
}

TEST(WavTest, OddChunkPadIsNotMistakenForNextChunk) {
  // Without honouring the pad byte the parser would read "\0fmt" as a chunk id.
  const auto file = Riff({Chunk("abcd", {1, 2, 3, 4, 5}), Chunk("fmt ", FmtBody(1, 1, 8000, 16)),
                          Chunk("data", Pcm({7}))});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->samples, std::vector<int16_t>{7});
}

TEST(WavTest, ParsesExtensiblePcm) {
  Bytes fmt = FmtBody(0xFFFE, 1, 8000, 16);
  Le16(fmt, 22);         // cbSize
  Le16(fmt, 16);         // valid bits
  Le32(fmt, 4);          // channel mask
  Le16(fmt, 1);          // SubFormat GUID starts with the PCM tag
  fmt.resize(40, 0x10);  // rest of the GUID
  const auto file = Riff({Chunk("fmt ", fmt), Chunk("data", Pcm({1, 2}))});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->samples, (std::vector<int16_t>{1, 2}));
}

TEST(WavTest, BytesAfterRiffEndAreIgnored) {
  auto file = Riff({Chunk("fmt ", FmtBody(1, 1, 8000, 16)), Chunk("data", Pcm({5, 6}))});
  file.insert(file.end(), {0xDE, 0xAD, 0xBE});
  const auto wav = ParseWav(file);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->samples, (std::vector<int16_t>{5, 6}));
}

TEST(WavTest, RejectsWrongMagic) {
  auto file = Riff({Chunk("fmt ", FmtBody(1, 1, 8000, 16)), Chunk("data", Pcm({1}))});
  auto bad = file;
  bad[0] = 'X';
  EXPECT_NE(ErrorOf(bad).find("not a RIFF"), std::string::npos) << ErrorOf(bad);
  bad = file;
  bad[8] = 'A';
  EXPECT_NE(ErrorOf(bad).find("not WAVE"), std::string::npos) << ErrorOf(bad);
  bad = file;
  bad[3] = 'X';  // RIFX: big-endian variant
  EXPECT_NE(ErrorOf(bad).find("not supported"), std::string::npos) << ErrorOf(bad);
  const auto r = ParseWav(bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST(WavTest, RejectsEveryTruncation) {
  const auto file =
      Riff({Chunk("fmt ", FmtBody(1, 1, 8000, 16)), Chunk("data", Pcm({1, 2, 3, 4}))});
  for (std::size_t n = 0; n < file.size(); ++n) {
    const auto r = ParseWav(std::span(file).first(n));
    EXPECT_FALSE(r) << "prefix of " << n << " bytes parsed";
    if (!r && n >= 12) {
      EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_TRUE(ParseWav(file));
}

TEST(WavTest, RejectsChunkOverrunningRiff) {
  auto file = Riff({Chunk("fmt ", FmtBody(1, 1, 8000, 16)), Chunk("data", Pcm({1, 2}))});
  file[file.size() - 8] = 0xFF;  // data size low byte: now far bigger than what follows
  EXPECT_NE(ErrorOf(file).find("chunk 'data'"), std::string::npos) << ErrorOf(file);
}

TEST(WavTest, RejectsBadFormats) {
  const Bytes data = Chunk("data", Pcm({1, 2}));
  EXPECT_NE(ErrorOf(Riff({Chunk("fmt ", FmtBody(3, 1, 8000, 32)), data})).find("format tag"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Riff({Chunk("fmt ", FmtBody(1, 1, 8000, 24)), data})).find("bits"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Riff({Chunk("fmt ", FmtBody(1, 0, 8000, 16)), data})).find("channel"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Riff({Chunk("fmt ", FmtBody(1, 1, 0, 16)), data})).find("sample rate"),
            std::string::npos);
  Bytes bad_align = FmtBody(1, 1, 8000, 16);
  bad_align[12] = 3;
  EXPECT_NE(ErrorOf(Riff({Chunk("fmt ", bad_align), data})).find("block align"), std::string::npos);
  EXPECT_NE(ErrorOf(Riff({Chunk("fmt ", Bytes(10, 0)), data})).find("too short"),
            std::string::npos);
}

TEST(WavTest, RejectsMissingOrDuplicateChunks) {
  const Bytes fmt = Chunk("fmt ", FmtBody(1, 1, 8000, 16));
  const Bytes data = Chunk("data", Pcm({1, 2}));
  EXPECT_NE(ErrorOf(Riff({fmt})).find("missing data"), std::string::npos);
  EXPECT_NE(ErrorOf(Riff({data})).find("missing fmt"), std::string::npos);
  EXPECT_NE(ErrorOf(Riff({fmt, fmt, data})).find("duplicate fmt"), std::string::npos);
  EXPECT_NE(ErrorOf(Riff({fmt, data, data})).find("duplicate data"), std::string::npos);
}

TEST(WavTest, RejectsPartialFrame) {
  const auto file = Riff({Chunk("fmt ", FmtBody(1, 2, 8000, 16)), Chunk("data", Pcm({1, 2, 3}))});
  EXPECT_NE(ErrorOf(file).find("whole number"), std::string::npos) << ErrorOf(file);
}

TEST(WavTest, WriterRoundTripsStereo) {
  const auto path = TempPath("stereo.wav");
  std::vector<int16_t> samples;
  for (int i = 0; i < 2000; ++i) samples.push_back(static_cast<int16_t>(i * 31 - 30000));
  {
    auto writer = WavWriter::Open(path, 22050, 2);
    ASSERT_TRUE(writer) << writer.error().message;
    ASSERT_TRUE(writer->WriteInterleaved(std::span(samples).first(600)));
    ASSERT_TRUE(writer->WriteInterleaved(std::span(samples).subspan(600)));
    EXPECT_EQ(writer->frames_written(), 1000u);
    ASSERT_TRUE(writer->Finish());
    EXPECT_TRUE(writer->Finish());  // idempotent
    EXPECT_FALSE(writer->WriteInterleaved(samples));
  }
  const auto wav = ReadWavFile(path);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->sample_rate, 22050);
  EXPECT_EQ(wav->channels, 2);
  EXPECT_EQ(wav->samples, samples);
  EXPECT_EQ(ReadAll(path).size(), 44u + 4000u);
  std::filesystem::remove(path);
}

TEST(WavTest, WriterRejectsPartialFramesAndBadArguments) {
  const auto path = TempPath("bad.wav");
  EXPECT_FALSE(WavWriter::Open(path, 0, 1));
  EXPECT_FALSE(WavWriter::Open(path, 8000, 0));
  EXPECT_FALSE(WavWriter::Open(path, 8000, 9));
  EXPECT_FALSE(
      WavWriter::Open(std::filesystem::path(::testing::TempDir()) / "no/such/dir/x.wav", 8000, 1));
  auto writer = WavWriter::Open(path, 8000, 2);
  ASSERT_TRUE(writer);
  const std::vector<int16_t> three = {1, 2, 3};
  EXPECT_FALSE(writer->WriteInterleaved(three));
  std::filesystem::remove(path);
}

TEST(WavTest, DestructorFinishes) {
  const auto path = TempPath("dtor.wav");
  {
    auto writer = WavWriter::Open(path, 8000, 1);
    ASSERT_TRUE(writer);
    const std::vector<int16_t> samples(123, 77);
    ASSERT_TRUE(writer->WriteInterleaved(samples));
  }
  const auto wav = ReadWavFile(path);
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->samples, std::vector<int16_t>(123, 77));
  std::filesystem::remove(path);
}

TEST(WavTest, UnfinishedFileIsPlayableUpToLastPatch) {
  const auto path = TempPath("crash.wav");
  auto writer = WavWriter::Open(path, 8000, 1, {.patch_interval_frames = 100});
  ASSERT_TRUE(writer);
  {
    // Freshly opened: a valid empty file.
    const auto wav = ParseWav(ReadAll(path));
    ASSERT_TRUE(wav) << wav.error().message;
    EXPECT_TRUE(wav->samples.empty());
  }
  std::vector<int16_t> samples(250);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = static_cast<int16_t>(i);
  for (std::size_t i = 0; i < samples.size(); i += 50) {
    ASSERT_TRUE(writer->WriteInterleaved(std::span(samples).subspan(i, 50)));
  }
  // Read while the writer is still open, as after a crash: sizes cover the last patch (200).
  const auto wav = ParseWav(ReadAll(path));
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->samples, std::vector<int16_t>(samples.begin(), samples.begin() + 200));
  ASSERT_TRUE(writer->Finish());
  const auto done = ReadWavFile(path);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->samples, samples);
  std::filesystem::remove(path);
}

TEST(WavTest, MovedWriterOwnsTheFile) {
  const auto path = TempPath("moved.wav");
  auto opened = WavWriter::Open(path, 8000, 1);
  ASSERT_TRUE(opened);
  WavWriter writer = std::move(*opened);
  EXPECT_FALSE(opened->is_open());
  const std::vector<int16_t> samples = {1, 2, 3};
  ASSERT_TRUE(writer.WriteInterleaved(samples));
  ASSERT_TRUE(writer.Finish());
  const auto wav = ReadWavFile(path);
  ASSERT_TRUE(wav);
  EXPECT_EQ(wav->samples, samples);
  std::filesystem::remove(path);
}

TEST(WavTest, ReadMissingFileIsNotFound) {
  const auto r = ReadWavFile(TempPath("does-not-exist.wav"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace tempo::audio
