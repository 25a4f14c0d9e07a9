// Our Bedrock stream end to end, before the engine: net/h2_client carries the request signed by
// aws/sigv4 and the frames encoded by aws/eventstream and signed by ChunkSigner, and the Bedrock
// emulator (tests/fakes/bedrock), which checks everything with AWS's own packages, accepts
// them and answers a turn. A frame signed with a wrong key is rejected.
#include "tempo/aws/eventstream.hpp"
#include "tempo/aws/sigv4.hpp"
#include "tempo/base/base64.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/net/h2_client.hpp"

#include "support/bedrock.hpp"
#include "support/moto.hpp"
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

namespace tempo::aws::eventstream {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using test_support::Emulated;
using test_support::Emulator;

// What came back on the stream.
struct Received {
  std::mutex mutex;
  std::condition_variable changed;
  int status = 0;
  Decoder decoder;
  std::vector<json> events;
  std::vector<std::string> exceptions;
  std::optional<Result<void>> closed;

  template <class Pred>
  bool WaitFor(Pred done) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return done(); });
  }
};

net::H2StreamCallbacks Into(Received& r) {
  net::H2StreamCallbacks cb;
  cb.on_headers = [&r](int status, const net::H2Headers&) {
    std::lock_guard lock(r.mutex);
    if (status != 0) r.status = status;
    r.changed.notify_all();
  };
  cb.on_data = [&r](std::string_view data) {
    std::lock_guard lock(r.mutex);
    r.decoder.Feed(data);
    while (true) {
      auto next = r.decoder.Next();
      if (!next || !*next) break;
      const Message& m = **next;
      if (m.String(":message-type") == "exception") {
        r.exceptions.push_back(std::string(*m.String(":exception-type")) + ": " + m.payload);
        continue;
      }
      if (r.status != 200) continue;  // an error answer's JSON body is not framed
      const auto bytes = base64::Decode(json::parse(m.payload)["bytes"].get<std::string>());
      r.events.push_back(json::parse(std::string(bytes->begin(), bytes->end()))["event"]);
    }
    r.changed.notify_all();
  };
  cb.on_close = [&r](Result<void> result) {
    std::lock_guard lock(r.mutex);
    r.closed = std::move(result);
    r.changed.notify_all();
  };
  return cb;
}

// Opens the stream as the SDKs do: SigV4 over the request with the streaming payload hash.
struct BedrockStream {
  BedrockStream(net::H2Client& client, int port, const Credentials& request_key,
                const Credentials& frame_key, Received& received, bool tls = false,
                net::TlsVerify verify = net::TlsVerify::kInsecure) {
    const std::string authority = "127.0.0.1:" + std::to_string(port);
    SignableRequest request;
    request.method = "POST";
    request.path = "/model/amazon.nova-2-sonic-v1%3A0/invoke-with-bidirectional-stream";
    request.headers = {{"host", authority}, {"content-type", "application/vnd.amazon.eventstream"}};
    request.payload_hash = std::string(kStreamingEventsPayload);
    SigningOptions options;
    options.region = "us-east-1";
    options.service = "bedrock";
    options.time = std::chrono::system_clock::now();
    options.content_sha256_header = true;
    auto seed = SignRequest(request, request_key, options);
    EXPECT_TRUE(seed);
    signer.emplace(frame_key, "us-east-1", "bedrock", seed ? seed->signature : "");
    net::H2Request h2;
    h2.scheme = tls ? "https" : "http";
    h2.authority = authority;
    h2.path = request.path;
    for (const auto& [name, value] : request.headers) {
      std::string lower = Lower(name);
      if (lower != "host") h2.headers.emplace_back(lower, value);
    }
    stream = client.Open({.host = "127.0.0.1",
                          .port = static_cast<uint16_t>(port),
                          .tls = tls,
                          .tls_verify = verify},
                         std::move(h2), Into(received));
  }

  void Send(const json& event) {
    Message inner;
    inner.headers = {{":message-type", std::string("event")},
                     {":event-type", std::string("chunk")},
                     {":content-type", std::string("application/json")}};
    inner.payload = json{{"bytes", base64::Encode(json{{"event", event}}.dump())}}.dump();
    stream->Write(signer->Wrap(*Encode(inner), std::chrono::system_clock::now()), false);
  }
  void End() { stream->Write(signer->Wrap("", std::chrono::system_clock::now()), true); }

  std::optional<ChunkSigner> signer;
  std::shared_ptr<net::H2Stream> stream;
};

const json kSetUp[] = {
    {{"sessionStart",
      {{"inferenceConfiguration", {{"maxTokens", 1024}, {"topP", 0.9}, {"temperature", 0.7}}}}}},
    {{"promptStart",
      {{"promptName", "p"},
       {"textOutputConfiguration", {{"mediaType", "text/plain"}}},
       {"audioOutputConfiguration",
        {{"mediaType", "audio/lpcm"},
         {"sampleRateHertz", 24000},
         {"sampleSizeBits", 16},
         {"channelCount", 1},
         {"voiceId", "matthew"},
         {"encoding", "base64"},
         {"audioType", "SPEECH"}}}}}},
    {{"contentStart",
      {{"promptName", "p"},
       {"contentName", "sys"},
       {"type", "TEXT"},
       {"interactive", false},
       {"role", "SYSTEM"},
       {"textInputConfiguration", {{"mediaType", "text/plain"}}}}}},
    {{"textInput",
      {{"promptName", "p"}, {"contentName", "sys"}, {"content", "You answer the phone."}}}},
    {{"contentEnd", {{"promptName", "p"}, {"contentName", "sys"}}}},
};

TEST(BedrockStreamTest, OurSignedFramesAreAcceptedAndATurnIsAnswered) {
  Emulator emulator(json::array({{{"user", "Hello?"}, {"reply", "Hi, this is the front desk."}}}));
  ASSERT_TRUE(test_support::Accepting(emulator.port())) << "the emulator did not start";
  Received received;  // outlives the client: its callbacks write here
  net::H2Client client;
  BedrockStream bedrock(client, emulator.port(), Emulated(), Emulated(), received);
  for (const auto& event : kSetUp) bedrock.Send(event);
  // A typed caller turn (cross-modal input) while the session is open.
  bedrock.Send({{"contentStart",
                 {{"promptName", "p"},
                  {"contentName", "typed"},
                  {"type", "TEXT"},
                  {"interactive", true},
                  {"role", "USER"},
                  {"textInputConfiguration", {{"mediaType", "text/plain"}}}}}});
  bedrock.Send(
      {{"textInput", {{"promptName", "p"}, {"contentName", "typed"}, {"content", "Hello?"}}}});
  bedrock.Send({{"contentEnd", {{"promptName", "p"}, {"contentName", "typed"}}}});
  ASSERT_TRUE(received.WaitFor([&] {
    for (const auto& e : received.events) {
      if (e.contains("textOutput") && e["textOutput"]["content"] == "Hi, this is the front desk." &&
          e["textOutput"]["role"] == "ASSISTANT") {
        return true;
      }
    }
    return !received.exceptions.empty() || received.closed.has_value();
  })) << "no answer";
  {
    std::lock_guard lock(received.mutex);
    EXPECT_EQ(received.status, 200);
    EXPECT_TRUE(received.exceptions.empty()) << received.exceptions.front();
    ASSERT_FALSE(received.events.empty());
    EXPECT_TRUE(received.events.front().contains("completionStart"));
  }
  bedrock.Send({{"promptEnd", {{"promptName", "p"}}}});
  bedrock.Send({{"sessionEnd", json::object()}});
  bedrock.End();
  ASSERT_TRUE(received.WaitFor([&] { return received.closed.has_value(); }));
  std::lock_guard lock(received.mutex);
  EXPECT_TRUE(*received.closed) << received.closed->error().message;
  EXPECT_TRUE(received.exceptions.empty());
  EXPECT_EQ(client.stats().connections_opened, 1u);
}

TEST(BedrockStreamTest, AFrameSignedWithAWrongKeyIsRejected) {
  Emulator emulator(json::array());
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  Received received;  // outlives the client: its callbacks write here
  net::H2Client client;
  // The request is signed right; the frames with another secret.
  BedrockStream bedrock(client, emulator.port(), Emulated(), Emulated("not-the-key"), received);
  bedrock.Send(kSetUp[0]);
  ASSERT_TRUE(received.WaitFor([&] { return received.closed.has_value(); }));
  std::lock_guard lock(received.mutex);
  EXPECT_EQ(received.status, 200);
  ASSERT_EQ(received.exceptions.size(), 1u);
  EXPECT_NE(received.exceptions[0].find("validationException"), std::string::npos);
  EXPECT_NE(received.exceptions[0].find("signature"), std::string::npos) << received.exceptions[0];
  EXPECT_TRUE(received.events.empty());
}

TEST(BedrockStreamTest, ARequestSignedWithAWrongKeyIsRefused) {
  Emulator emulator(json::array());
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  Received received;  // outlives the client: its callbacks write here
  net::H2Client client;
  BedrockStream bedrock(client, emulator.port(), Emulated("not-the-key"), Emulated(), received);
  ASSERT_TRUE(received.WaitFor([&] { return received.closed.has_value(); }));
  std::lock_guard lock(received.mutex);
  EXPECT_EQ(received.status, 403);
}

// Calls share connections up to the peer's SETTINGS_MAX_CONCURRENT_STREAMS; past it another
// connection opens.
TEST(BedrockStreamTest, StreamsShareAConnectionUpToThePeersLimit) {
  Emulator emulator(json::array(), {.max_streams = 2});
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  std::array<Received, 3> received;
  net::H2Client client;
  std::vector<std::unique_ptr<BedrockStream>> streams;
  for (auto& r : received) {
    streams.push_back(
        std::make_unique<BedrockStream>(client, emulator.port(), Emulated(), Emulated(), r));
    streams.back()->Send(kSetUp[0]);
    // The first connection learns the peer's limit from its SETTINGS before the third opens.
    ASSERT_TRUE(r.WaitFor([&] { return r.status == 200; }));
  }
  EXPECT_EQ(client.stats().connections_opened, 2u);
  EXPECT_EQ(client.stats().max_streams_on_a_connection, 2u);
  for (auto& s : streams) s->End();
  for (auto& r : received) {
    ASSERT_TRUE(r.WaitFor([&] { return r.closed.has_value(); }));
    std::lock_guard lock(r.mutex);
    EXPECT_TRUE(*r.closed);
  }
}

// Over TLS with ALPN h2, as with AWS: the emulator's certificate is self-signed, so only a
// client told not to verify it connects; one that verifies refuses it.
TEST(BedrockStreamTest, TlsWithAlpnCarriesTheStreamAndAnUntrustedCertificateIsRefused) {
  Emulator emulator(json::array(), {.tls = true});
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  {
    Received received;
    net::H2Client client;
    BedrockStream bedrock(client, emulator.port(), Emulated(), Emulated(), received, true,
                          net::TlsVerify::kInsecure);
    bedrock.Send(kSetUp[0]);
    bedrock.End();
    ASSERT_TRUE(received.WaitFor([&] { return received.closed.has_value(); }));
    std::lock_guard lock(received.mutex);
    EXPECT_EQ(received.status, 200);
    EXPECT_TRUE(*received.closed) << received.closed->error().message;
    EXPECT_TRUE(received.exceptions.empty());
  }
  Received refused;
  net::H2Client client;
  BedrockStream bedrock(client, emulator.port(), Emulated(), Emulated(), refused, true,
                        net::TlsVerify::kVerifyPeer);
  ASSERT_TRUE(refused.WaitFor([&] { return refused.closed.has_value(); }));
  std::lock_guard lock(refused.mutex);
  ASSERT_FALSE(*refused.closed);
  EXPECT_NE(refused.closed->error().message.find("TLS"), std::string::npos)
      << refused.closed->error().message;
}

// A server going away: the stream it took finishes; the next one opens a new connection.
TEST(BedrockStreamTest, AfterAGoawayTheOpenStreamFinishesAndANewOneGoesElsewhere) {
  Emulator emulator(json::array(), {.goaway_after = 1});
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  Received first;
  Received second;
  net::H2Client client;
  BedrockStream one(client, emulator.port(), Emulated(), Emulated(), first);
  one.Send(kSetUp[0]);
  ASSERT_TRUE(first.WaitFor([&] { return first.status == 200; }));
  for (int i = 0; i < 100 && client.stats().goaways == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(client.stats().goaways, 1u);
  BedrockStream two(client, emulator.port(), Emulated(), Emulated(), second);
  two.Send(kSetUp[0]);
  ASSERT_TRUE(second.WaitFor([&] { return second.status == 200; }));
  EXPECT_EQ(client.stats().connections_opened, 2u);
  one.End();
  two.End();
  for (auto* r : {&first, &second}) {
    ASSERT_TRUE(r->WaitFor([&] { return r->closed.has_value(); }));
    std::lock_guard lock(r->mutex);
    EXPECT_TRUE(*r->closed) << r->closed->error().message;
  }
}

TEST(BedrockStreamTest, AStreamOpenWhenTheClientGoesIsClosedWithAnError) {
  Emulator emulator(json::array());
  ASSERT_TRUE(test_support::Accepting(emulator.port()));
  Received received;
  {
    net::H2Client client;
    BedrockStream bedrock(client, emulator.port(), Emulated(), Emulated(), received);
    bedrock.Send(kSetUp[0]);
    ASSERT_TRUE(received.WaitFor([&] { return received.status == 200; }));
  }
  std::lock_guard lock(received.mutex);
  ASSERT_TRUE(received.closed.has_value());
  ASSERT_FALSE(*received.closed);
  EXPECT_NE(received.closed->error().message.find("shutting down"), std::string::npos);
}

}  // namespace
}  // namespace tempo::aws::eventstream
