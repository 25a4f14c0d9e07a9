// The event-stream codec against the public vectors (tests/vectors/aws/eventstream: aws-sdk-go's
// encoded/decoded pairs and smithy-rs's frames) and the chunk signer against aws-c-auth's and
// smithy-rs's event-signing vectors (tests/vectors/aws/eventstream-signing).
#include "tempo/aws/eventstream.hpp"

#include "tempo/aws/sigv4.hpp"
#include "tempo/base/base64.hpp"

#include "support/paths.hpp"
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace tempo::aws::eventstream {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::seconds;
using std::chrono::system_clock;

fs::path Vectors() { return test_support::TestVectors() / "aws"; }

std::string Slurp(const fs::path& path) { return test_support::ReadVector(path); }

std::string FromBase64(const std::string& text) {
  auto bytes = base64::Decode(text);
  EXPECT_TRUE(bytes) << text;
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

// The value aws-sdk-go's decoded JSON gives a header, in our types.
HeaderValue ExpectedValue(const json& header) {
  const json& v = header["value"];
  switch (header["type"].get<int>()) {
    case 0:
    case 1:
      return v.get<bool>();
    case 2:
      return v.get<int8_t>();
    case 3:
      return v.get<int16_t>();
    case 4:
      return v.get<int32_t>();
    case 5:
      return v.get<int64_t>();
    case 6:
      return ByteArray{FromBase64(v.get<std::string>())};
    case 7:
      return FromBase64(v.get<std::string>());
    case 8:
      return Timestamp{v.get<int64_t>()};
    default: {
      Uuid uuid;
      const std::string bytes = FromBase64(v.get<std::string>());
      EXPECT_EQ(bytes.size(), 16u);
      std::copy_n(bytes.begin(), std::min<size_t>(16, bytes.size()), uuid.bytes.begin());
      return uuid;
    }
  }
}

const std::vector<std::string> kPositive = {"all_headers", "empty_message", "int32_header",
                                            "payload_no_headers", "payload_one_str_header"};

TEST(EventStreamTest, EveryPositiveVectorDecodesAndEncodesBackByteForByte) {
  for (const auto& name : kPositive) {
    SCOPED_TRACE(name);
    const std::string wire = Slurp(Vectors() / "eventstream/encoded/positive" / name);
    const json expected = json::parse(Slurp(Vectors() / "eventstream/decoded/positive" / name));
    auto message = DecodeMessage(wire);
    ASSERT_TRUE(message) << message.error().message;
    EXPECT_EQ(wire.size(), expected["total_length"].get<size_t>());
    ASSERT_EQ(message->headers.size(), expected["headers"].size());
    for (size_t i = 0; i < message->headers.size(); ++i) {
      EXPECT_EQ(message->headers[i].name, expected["headers"][i]["name"].get<std::string>());
      EXPECT_EQ(message->headers[i].value, ExpectedValue(expected["headers"][i]));
    }
    EXPECT_EQ(message->payload, FromBase64(expected["payload"].get<std::string>()));
    auto encoded = Encode(*message);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, wire);
  }
}

TEST(EventStreamTest, EveryNegativeVectorIsRefusedWithItsReason) {
  for (const auto& name :
       {"corrupted_header_len", "corrupted_headers", "corrupted_length", "corrupted_payload"}) {
    SCOPED_TRACE(name);
    const std::string wire = Slurp(Vectors() / "eventstream/encoded/negative" / name);
    std::string reason = Slurp(Vectors() / "eventstream/decoded/negative" / name);
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' ')) reason.pop_back();
    auto message = DecodeMessage(wire);
    ASSERT_FALSE(message);
    EXPECT_EQ(message.error().code, ErrorCode::kProtocol);
    // "Prelude checksum mismatch" / "Message checksum mismatch", in our words.
    std::string lower = reason;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_NE(message.error().message.find(lower), std::string::npos)
        << message.error().message << " / " << reason;
    Decoder decoder;
    decoder.Feed(wire);
    EXPECT_FALSE(decoder.Next());
  }
}

TEST(EventStreamTest, SmithyFramesAreTakenOrRefusedAsExpected) {
  const json expected = json::parse(Slurp(Vectors() / "eventstream/smithy-rs/expected.json"));
  int checked = 0;
  for (const auto& [name, outcome] : expected.items()) {
    if (name.starts_with("_")) continue;
    SCOPED_TRACE(name);
    auto message = DecodeMessage(Slurp(Vectors() / "eventstream/smithy-rs" / name));
    if (outcome["result"] == "ok") {
      ASSERT_TRUE(message) << message.error().message;
      if (outcome.contains("headers")) {
        ASSERT_EQ(message->headers.size(), outcome["headers"].size());
        for (size_t i = 0; i < message->headers.size(); ++i) {
          EXPECT_EQ(message->headers[i].name, outcome["headers"][i]["name"].get<std::string>());
        }
      }
    } else {
      EXPECT_FALSE(message);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

TEST(EventStreamTest, TheDecoderTakesMessagesSplitAnywhereAndSeveralAtOnce) {
  std::string stream;
  std::vector<std::string> frames;
  for (const auto& name : kPositive) {
    frames.push_back(Slurp(Vectors() / "eventstream/encoded/positive" / name));
    stream += frames.back();
  }
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, stream.size()}) {
    SCOPED_TRACE(chunk);
    Decoder decoder;
    std::vector<Message> got;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      decoder.Feed(std::string_view(stream).substr(at, chunk));
      while (true) {
        auto next = decoder.Next();
        ASSERT_TRUE(next) << next.error().message;
        if (!*next) break;
        got.push_back(std::move(**next));
      }
    }
    ASSERT_EQ(got.size(), frames.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(*Encode(got[i]), frames[i]);
    EXPECT_EQ(decoder.Buffered(), 0u);
  }
}

TEST(EventStreamTest, ADecoderRefusesAnOversizedMessageBeforeBufferingIt) {
  Message big;
  big.payload.assign(2000, 'x');
  const std::string wire = *Encode(big);
  Decoder decoder(1024);
  decoder.Feed(std::string_view(wire).substr(0, 12));
  auto next = decoder.Next();
  ASSERT_FALSE(next);
  EXPECT_NE(next.error().message.find("2016 bytes"), std::string::npos) << next.error().message;
}

TEST(EventStreamTest, EncodingRefusesWhatTheWireCannotCarry) {
  EXPECT_FALSE(Encode(Message{{Header{"", true}}, ""}));
  EXPECT_FALSE(Encode(Message{{Header{std::string(256, 'n'), true}}, ""}));
  EXPECT_FALSE(Encode(Message{{Header{"s", std::string(32768, 'v')}}, ""}));
  EXPECT_TRUE(Encode(Message{{Header{"s", std::string(32767, 'v')}}, ""}));
  Message m{{Header{":event-type", std::string("chunk")}, Header{":event-type", int32_t{4}}}, ""};
  EXPECT_EQ(m.String(":event-type"), std::nullopt);  // the last one wins: an int32
  EXPECT_EQ(std::get<int32_t>(*m.Find(":event-type")), 4);
}

Credentials CredentialsOf(const json& vector) {
  Credentials credentials;
  credentials.access_key_id = vector["credentials"]["access_key_id"];
  credentials.secret_access_key =
      AwsSecretKey(vector["credentials"]["secret_access_key"].get<std::string>());
  return credentials;
}

system_clock::time_point At(int64_t epoch_seconds) {
  return system_clock::time_point(seconds(epoch_seconds));
}

TEST(ChunkSignerTest, AwsCAuthEventSigningVectors) {
  const json v =
      json::parse(Slurp(Vectors() / "eventstream-signing/aws-c-auth-event-signing.json"));
  const Credentials credentials = CredentialsOf(v);
  // The request that opens the stream: its signature seeds the chain.
  SignableRequest request;
  request.method = "POST";
  request.path = "/streaming";
  request.headers = {{"host", "demo.us-east-1.amazonaws.com"},
                     {"Content-Encoding", "application/vnd.amazon.eventstream"}};
  request.payload_hash = std::string(kStreamingEventsPayload);
  SigningOptions options;
  options.region = "us-east-1";
  options.service = "demo";
  options.time = At(348474600);  // Fri, 16 Jan 1981 06:30:00 GMT
  options.path_encoding = PathEncoding::kAsSent;
  options.content_sha256_header = true;
  auto seed = SignRequest(request, credentials, options);
  ASSERT_TRUE(seed) << seed.error().message;
  EXPECT_EQ(seed->signature, v["request"]["expected_signature"].get<std::string>());

  ChunkSigner signer(credentials, "us-east-1", "demo", seed->signature);
  int64_t t = 348474601;
  for (const auto& event : v["events"]) {
    SCOPED_TRACE(event["payload_ascii"].get<std::string>());
    const auto signature = signer.Sign(event["payload_ascii"].get<std::string>(), At(t++));
    EXPECT_EQ(HexLower(signature), event["expected_signature"].get<std::string>());
  }
}

TEST(ChunkSignerTest, SmithyStringToSignVector) {
  const json v =
      json::parse(Slurp(Vectors() / "eventstream-signing/smithy-rs-event-string-to-sign.json"));
  Message inner;
  inner.headers.push_back({"some-header", std::string("value")});
  inner.payload = "test payload";
  const auto encoded = Encode(inner);
  ASSERT_TRUE(encoded);
  ChunkSigner signer(Credentials{}, "us-east-1", "testservice",
                     v["prior_signature_hex"].get<std::string>());
  // 123456789 s and 1234 ns: the part under a second is dropped.
  const auto time = At(123456789) + std::chrono::microseconds(1);
  EXPECT_EQ(signer.StringToSign(*encoded, time), v["expected_string_to_sign"].get<std::string>());
}

TEST(ChunkSignerTest, AWrappedMessageCarriesItsDateAndSignatureAndChains) {
  Credentials credentials;
  credentials.access_key_id = "AKIDEXAMPLE";
  credentials.secret_access_key = AwsSecretKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  ChunkSigner signer(credentials, "us-east-1", "bedrock", std::string(64, '0'));
  Message inner{{Header{":message-type", std::string("event")}}, R"({"bytes":"e30="})"};
  const std::string payload = *Encode(inner);
  const std::string outer_wire = signer.Wrap(payload, At(1'700'000'000));
  auto outer = DecodeMessage(outer_wire);
  ASSERT_TRUE(outer);
  EXPECT_EQ(outer->payload, payload);
  EXPECT_EQ(std::get<Timestamp>(*outer->Find(":date")).millis, 1'700'000'000'000);
  const auto& signature = std::get<ByteArray>(*outer->Find(":chunk-signature")).bytes;
  ASSERT_EQ(signature.size(), 32u);
  const std::string first = signer.prior_signature();
  EXPECT_EQ(HexLower(std::span(reinterpret_cast<const uint8_t*>(signature.data()), 32)), first);
  // The same bytes signed again chain from the first signature: a different one.
  signer.Wrap(payload, At(1'700'000'000));
  EXPECT_NE(signer.prior_signature(), first);
}

std::string Hex(std::string_view bytes) {
  return HexLower(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

// A Bedrock InvokeModelWithBidirectionalStream request and its first three frames, byte for
// byte (a derived golden vector: it pins our framing and signing together, see the README).
TEST(ChunkSignerTest, ABedrockStreamSignedFrameByFrame) {
  const json v = json::parse(Slurp(Vectors() / "eventstream-signing/bedrock-bidi-derived.json"));
  const Credentials credentials = CredentialsOf(v);
  SignableRequest request;
  request.method = "POST";
  request.path = v["request"]["wire_path"];
  request.headers = {{"host", v["request"]["host"].get<std::string>()},
                     {"content-type", "application/vnd.amazon.eventstream"}};
  request.payload_hash = std::string(kStreamingEventsPayload);
  SigningOptions options;
  options.region = "us-east-1";
  options.service = "bedrock";
  options.time = At(1735689600);  // 2025-01-01T00:00:00Z
  options.content_sha256_header = true;
  auto seed = SignRequest(request, credentials, options);
  ASSERT_TRUE(seed) << seed.error().message;
  EXPECT_EQ(seed->signature, v["request"]["signature_hex"].get<std::string>());

  ChunkSigner signer(credentials, "us-east-1", "bedrock", seed->signature);
  for (const auto& frame : v["frames"]) {
    SCOPED_TRACE(frame["index"].get<int>());
    // The last frame is the end of the stream: a signed message with an empty payload.
    Result<std::string> inner_wire = std::string();
    if (!frame["event_json"].is_null()) {
      Message inner;
      inner.headers = {{":message-type", std::string("event")},
                       {":event-type", std::string("chunk")},
                       {":content-type", std::string("application/json")}};
      inner.payload =
          R"({"bytes":")" + base64::Encode(frame["event_json"].get<std::string>()) + R"("})";
      inner_wire = Encode(inner);
      ASSERT_TRUE(inner_wire);
    }
    EXPECT_EQ(Hex(*inner_wire), frame["inner_message_hex"].get<std::string>());
    EXPECT_EQ(signer.prior_signature(), frame["prior_signature_hex"].get<std::string>());
    const auto time =
        system_clock::time_point(std::chrono::milliseconds(frame["date_epoch_ms"].get<int64_t>()));
    EXPECT_EQ(signer.StringToSign(*inner_wire, time), frame["string_to_sign"].get<std::string>());
    EXPECT_EQ(Hex(signer.Wrap(*inner_wire, time)), frame["outer_message_hex"].get<std::string>());
    EXPECT_EQ(signer.prior_signature(), frame["signature_hex"].get<std::string>());
  }
}

}  // namespace
}  // namespace tempo::aws::eventstream
