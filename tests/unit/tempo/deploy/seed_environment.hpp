#pragma once
// The seed's task definition environment (AGENT_ID … MAX_INAPPROPRIATE_ATTEMPTS), in its
// order, as tempovoice-aws-deployment.md writes it. TWILIO_API_SECRET is there in plain text;
// the deployer passes it from Secrets Manager instead, so it is not in this list.

#include <string>
#include <vector>

namespace tempo::deploy::test {

inline const std::vector<std::string>& SeedEnvironment() {
  static const std::vector<std::string> kNames = {"AGENT_ID",
                                                  "AGENT_NAME",
                                                  "AGENT_PROMPT",
                                                  "AGENT_GUARDRAILS",
                                                  "AGENT_KNOWLEDGE_BASE",
                                                  "VOICE_ID",
                                                  "MAKE_ENDPOINT",
                                                  "WEBHOOK_ENDPOINT",
                                                  "CALL_PHONE_NUMBER",
                                                  "TRANSFER_PHONE_NUMBER",
                                                  "SUMMARY_PHONE_NUMBER",
                                                  "TWILIO_ACCOUNT_SID",
                                                  "AWS_REGION",
                                                  "S3_BUCKET_NAME",
                                                  "SIP_ENDPOINT",
                                                  "NOVA_PICKUP_WEBHOOK_URL",
                                                  "TRANSCRIPT_WEBHOOK_URL",
                                                  "ENABLE_RECORDING",
                                                  "ENABLE_TRANSCRIPTION",
                                                  "MAX_CONVERSATION_LENGTH",
                                                  "MAX_SESSION_DURATION",
                                                  "MAX_INAPPROPRIATE_ATTEMPTS"};
  return kNames;
}

}  // namespace tempo::deploy::test
