#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"

#include <string>
#include <string_view>

namespace tempo::storage {

/// The one place that spells where a call's artefacts live (the seed's S3 layout):
///   tempo-agent-transcripts-{agentId}/calls/{callSid}/transcript.json
///                                                     metadata.json
///                                                     recording.wav
/// plus logs/ and temp/ under the same bucket. The runtime, the crash recovery, the call index
/// and the API all build keys here, so they cannot disagree.
inline constexpr std::string_view kAgentBucketPrefix = "tempo-agent-transcripts-";

enum class CallArtifact { kTranscript, kMetadata, kRecording };

/// The object name of an artefact inside its call's prefix ("transcript.json", ...).
std::string_view ArtifactName(CallArtifact artifact);

/// The bucket of an agent's artefacts. The id must already be valid (agent::IsValidAgentId).
std::string AgentBucket(const AgentId& agent);

/// Where one call's artefacts are. Built only from ids that are safe as one path component
/// (letters, digits, '-' and '_'; at most 64 characters): the ids were validated where they
/// were parsed, and this check keeps a missed one from ever naming a file elsewhere.
struct CallLocation {
  std::string bucket;
  std::string prefix;  ///< "calls/{callSid}/"
  [[nodiscard]] std::string Key(CallArtifact artifact) const;
};
Result<CallLocation> LocateCall(const AgentId& agent, const CallSid& call);

/// True when `id` is safe as a single path component or key segment (see LocateCall).
bool IsSafeComponent(std::string_view id);

}  // namespace tempo::storage
