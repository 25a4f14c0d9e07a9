#include "tempo/storage/call_layout.hpp"

#include "tempo/agent/agent_config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace tempo::storage {
namespace {

TEST(CallLayout, NamesTheBucketAndKeysOfACall) {
  auto at = LocateCall(AgentId("bright-smile"), CallSid("CA123"));
  ASSERT_TRUE(at) << at.error().ToString();
  EXPECT_EQ(at->bucket, "tempo-agent-transcripts-bright-smile");
  EXPECT_EQ(at->bucket, AgentBucket(AgentId("bright-smile")));
  EXPECT_EQ(at->prefix, "calls/CA123/");
  EXPECT_EQ(at->Key(CallArtifact::kTranscript), "calls/CA123/transcript.json");
  EXPECT_EQ(at->Key(CallArtifact::kMetadata), "calls/CA123/metadata.json");
  EXPECT_EQ(at->Key(CallArtifact::kRecording), "calls/CA123/recording.wav");
}

TEST(CallLayout, RefusesIdsThatAreNotOnePathComponent) {
  EXPECT_FALSE(LocateCall(AgentId("a/../b"), CallSid("CA1")));
  EXPECT_FALSE(LocateCall(AgentId("agent"), CallSid("../CA1")));
  EXPECT_FALSE(LocateCall(AgentId(""), CallSid("CA1")));
}

// agent/ cannot depend on storage/, so it repeats the bucket prefix's length in its id limit:
// the longest valid agent id must still make an S3 bucket name (at most 63 characters).
TEST(CallLayout, TheLongestValidAgentIdMakesAValidBucketName) {
  const std::string longest(agent::kMaxAgentIdLength, 'a');
  ASSERT_TRUE(agent::IsValidAgentId(longest));
  EXPECT_FALSE(agent::IsValidAgentId(longest + "a"));
  EXPECT_EQ(AgentBucket(AgentId(longest)).size(), 63u);
}

}  // namespace
}  // namespace tempo::storage
