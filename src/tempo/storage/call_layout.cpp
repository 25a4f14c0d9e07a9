#include "tempo/storage/call_layout.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::storage {

std::string_view ArtifactName(CallArtifact artifact) {
  switch (artifact) {
    case CallArtifact::kTranscript:
      return "transcript.json";
    case CallArtifact::kMetadata:
      return "metadata.json";
    case CallArtifact::kRecording:
      return "recording.wav";
  }
  return "unknown";
}

std::string AgentBucket(const AgentId& agent) {
  return fmt::format("{}{}", kAgentBucketPrefix, agent.view());
}

bool IsSafeComponent(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

std::string CallLocation::Key(CallArtifact artifact) const {
  return fmt::format("{}{}", prefix, ArtifactName(artifact));
}

Result<CallLocation> LocateCall(const AgentId& agent, const CallSid& call) {
  if (!IsSafeComponent(agent.view())) {
    return InvalidArgument("agent id is not a valid artefact path component");
  }
  if (!IsSafeComponent(call.view())) {
    return InvalidArgument("call sid is not a valid artefact path component");
  }
  return CallLocation{AgentBucket(agent), fmt::format("calls/{}/", call.view())};
}

}  // namespace tempo::storage
