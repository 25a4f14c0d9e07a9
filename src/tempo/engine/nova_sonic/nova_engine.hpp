#pragma once

// The `nova_sonic` speech engine: each call is one Bedrock InvokeModelWithBidirectionalStream
// session with Amazon Nova Sonic, over HTTP/2 (net/h2_client; calls share connections), its
// frames in the AWS event stream and signed one by one (aws/eventstream), its events written
// and read by protocol.hpp.

#include "tempo/aws/credentials.hpp"
#include "tempo/base/result.hpp"
#include "tempo/engine/nova_sonic/protocol.hpp"
#include "tempo/engine/speech_engine.hpp"
#include "tempo/net/h2_client.hpp"

#include <functional>
#include <memory>
#include <string>

namespace tempo::engine::nova {

/// US dollars per 1,000 tokens of each kind. The defaults are Nova Sonic's on-demand list price
/// in us-east-1 at its launch; set the price of your region and model (`serve --nova-price`).
struct TokenPrices {
  double speech_input = 0.0034;
  double speech_output = 0.0136;
  double text_input = 0.00006;
  double text_output = 0.00024;
};

/// The cost of `usage` at `prices`.
double UsageCost(const Usage& usage, const TokenPrices& prices);

struct NovaOptions {
  /// Where Bedrock Runtime is: bedrock-runtime.<region>.amazonaws.com:443 over TLS, or an
  /// emulator (h2c).
  net::H2Target target;
  std::string region = "us-east-1";
  std::string model_id = "amazon.nova-2-sonic-v1:0";
  /// Current credentials (the aws/ chain in production); called at each session's start.
  std::function<Result<aws::Credentials>()> credentials;
  SessionSettings settings;  ///< the voice is the agent's when it names one
  TokenPrices prices;        ///< for the cost in each call's usage
};

/// The engine, registered as "nova_sonic".
std::unique_ptr<SpeechEngine> MakeNovaSonicEngine(NovaOptions options);

}  // namespace tempo::engine::nova
