#include "tempo/storage/append_log.hpp"
#include "tempo/storage/call_layout.hpp"
#include "tempo/storage/object_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

namespace tempo::storage {
namespace {
namespace fs = std::filesystem;

class StorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("tempo-storage-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(StorageTest, PutGetListExists) {
  auto store = OpenFsStore(root_);
  ASSERT_TRUE(store);
  auto& s = **store;
  ASSERT_TRUE(s.EnsureBucket("tempo-agent-transcripts-a1"));
  ASSERT_TRUE(s.Put("tempo-agent-transcripts-a1", "calls/CA1/transcript.json", "{}"));
  ASSERT_TRUE(s.Put("tempo-agent-transcripts-a1", "calls/CA2/metadata.json", "{\"x\":1}"));
  EXPECT_EQ(*s.Get("tempo-agent-transcripts-a1", "calls/CA2/metadata.json"), "{\"x\":1}");
  EXPECT_TRUE(*s.Exists("tempo-agent-transcripts-a1", "calls/CA1/transcript.json"));
  EXPECT_FALSE(*s.Exists("tempo-agent-transcripts-a1", "calls/CA3/transcript.json"));
  auto keys = s.List("tempo-agent-transcripts-a1", "calls/");
  ASSERT_TRUE(keys);
  EXPECT_EQ(*keys,
            (std::vector<std::string>{"calls/CA1/transcript.json", "calls/CA2/metadata.json"}));
  auto missing = s.Get("tempo-agent-transcripts-a1", "calls/none");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(StorageTest, PutFileMovesTheFile) {
  auto store = OpenFsStore(root_);
  ASSERT_TRUE(store);
  fs::create_directories(root_ / "spool");
  const auto spooled = root_ / "spool" / "rec.wav";
  std::ofstream(spooled) << "RIFF....";
  ASSERT_TRUE((*store)->PutFile("bucket-a", "calls/CA1/recording.wav", spooled));
  EXPECT_FALSE(fs::exists(spooled));
  EXPECT_EQ(*(*store)->Get("bucket-a", "calls/CA1/recording.wav"), "RIFF....");
}

TEST_F(StorageTest, RejectsKeysAndBucketsThatEscape) {
  auto store = OpenFsStore(root_);
  ASSERT_TRUE(store);
  EXPECT_FALSE((*store)->Put("bucket-a", "../../etc/passwd", "x"));
  EXPECT_FALSE((*store)->Put("bucket-a", "/abs", "x"));
  EXPECT_FALSE((*store)->Put("bucket-a", "a//b", "x"));
  EXPECT_FALSE((*store)->Put("../x", "k", "x"));
  EXPECT_FALSE((*store)->Put("Bucket", "k", "x"));
  EXPECT_FALSE(fs::exists(root_.parent_path() / "etc"));
}

TEST_F(StorageTest, AppendLogSurvivesATornLastLine) {
  const auto path = root_ / "spool" / "CA1.wal";
  {
    auto log = AppendLog::Create(path);
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->Append(R"({"type":"call"})"));
    ASSERT_TRUE(log->Append(R"({"type":"turn","text":"hello"})"));
    EXPECT_FALSE(log->Append("two\nlines"));
  }
  {
    // A crash in the middle of a write leaves a partial line behind.
    std::ofstream out(path, std::ios::app);
    out << R"({"type":"turn","te)";
  }
  auto lines = AppendLog::ReadLines(path);
  ASSERT_TRUE(lines);
  EXPECT_EQ(*lines,
            (std::vector<std::string>{R"({"type":"call"})", R"({"type":"turn","text":"hello"})"}));
  auto log = AppendLog::Create(path);
  ASSERT_TRUE(log);
  log->Remove();
  EXPECT_FALSE(fs::exists(path));
}

// A running call keeps no descriptor for its write-ahead file (issue #26): more calls fit.
TEST_F(StorageTest, AppendLogHoldsNoDescriptorBetweenAppends) {
  const auto open_descriptors = [] {
    return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator());
  };
  const auto before = open_descriptors();
  std::vector<AppendLog> logs;
  for (int n = 0; n < 20; ++n) {
    auto log = AppendLog::Create(root_ / "spool" / fmt::format("CA{}.wal", n));
    ASSERT_TRUE(log);
    ASSERT_TRUE(log->AppendLines(std::vector<std::string>{"one", "two"}));
    logs.push_back(std::move(*log));
  }
  EXPECT_EQ(open_descriptors(), before);
  EXPECT_FALSE(logs[0].AppendLines(std::vector<std::string>{"three", "fo\nur"}));
  auto lines = AppendLog::ReadLines(logs[0].path());
  ASSERT_TRUE(lines);
  EXPECT_EQ(*lines, (std::vector<std::string>{"one", "two"}));  // a bad batch writes nothing
}

TEST_F(StorageTest, WriteFileAtomicReplaces) {
  fs::create_directories(root_);
  ASSERT_TRUE(WriteFileAtomic(root_ / "f", "one"));
  ASSERT_TRUE(WriteFileAtomic(root_ / "f", "two"));
  std::ifstream in(root_ / "f");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(root_), fs::directory_iterator()), 1);
}

TEST(CallLayout, TheSeedsLayoutFromValidIds) {
  auto at =
      LocateCall(AgentId("bright-smile-dental"), CallSid("CA0123456789abcdef0123456789abcdef"));
  ASSERT_TRUE(at);
  EXPECT_EQ(at->bucket, "tempo-agent-transcripts-bright-smile-dental");
  EXPECT_EQ(at->prefix, "calls/CA0123456789abcdef0123456789abcdef/");
  EXPECT_EQ(at->Key(CallArtifact::kTranscript),
            "calls/CA0123456789abcdef0123456789abcdef/transcript.json");
  EXPECT_EQ(at->Key(CallArtifact::kMetadata), at->prefix + "metadata.json");
  EXPECT_EQ(at->Key(CallArtifact::kRecording), at->prefix + "recording.wav");
  EXPECT_EQ(AgentBucket(AgentId("a1")), "tempo-agent-transcripts-a1");
}

TEST(CallLayout, NoIdThatCouldNameAnotherPlace) {
  const AgentId agent("a1");
  for (const char* sid :
       {"../../../../tmp/x", "..", ".", "", "CA1/..", "CA1\\x", "CA1%2f", "CA 1", "CA1\n"}) {
    EXPECT_FALSE(LocateCall(agent, CallSid(sid))) << sid;
  }
  EXPECT_FALSE(LocateCall(agent, CallSid(std::string(65, 'a'))));
  EXPECT_FALSE(LocateCall(AgentId("../x"), CallSid("CA1")));
  EXPECT_FALSE(LocateCall(AgentId(""), CallSid("CA1")));
  EXPECT_TRUE(LocateCall(agent, CallSid("CA1")));  // the layout checks shape, twilio/ checks form
}

TEST_F(StorageTest, TheFsStoreRefusesKeysThatLeaveTheBucket) {
  auto s = std::move(*OpenFsStore(root_));
  ASSERT_TRUE(s->EnsureBucket("bucket"));
  EXPECT_FALSE(s->Put("bucket", "../escape", "x"));
  EXPECT_FALSE(s->Put("bucket", "calls/../../escape", "x"));
  EXPECT_FALSE(s->Put("bucket", "/etc/escape", "x"));
  EXPECT_FALSE(s->Put("..", "escape", "x"));
  EXPECT_FALSE(fs::exists(root_.parent_path() / "escape"));
}

}  // namespace
}  // namespace tempo::storage
