// Per-frame costs of the Twilio media path and the cost of a webhook signature check.
#include "tempo/base/base64.hpp"
#include "tempo/base/secret.hpp"
#include "tempo/twilio/media_stream.hpp"
#include "tempo/twilio/signature.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

namespace {

using namespace tempo::twilio;

std::vector<uint8_t> Audio(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
  return bytes;
}

std::string InboundMediaFrame() {
  return R"({"event":"media","sequenceNumber":"4","media":{"track":"inbound","chunk":"2",)"
         R"("timestamp":"5","payload":")" +
         tempo::base64::Encode(Audio(160)) +
         R"("},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"})";
}

void BM_ParseInboundMedia(benchmark::State& state) {
  const std::string frame = InboundMediaFrame();
  InboundEvent event;
  for (auto _ : state) {
    auto result = ParseInboundInto(frame, event);
    benchmark::DoNotOptimize(result);
    benchmark::DoNotOptimize(event);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_ParseInboundMedia);

// The same frame through a fresh result each time (allocates the payload and sid).
void BM_ParseInboundMediaFresh(benchmark::State& state) {
  const std::string frame = InboundMediaFrame();
  for (auto _ : state) {
    auto result = ParseInbound(frame);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_ParseInboundMediaFresh);

// For comparison: the DOM-based general parser on the same frame.
void BM_ParseInboundMediaGeneral(benchmark::State& state) {
  const std::string frame = InboundMediaFrame();
  for (auto _ : state) {
    auto result = detail::ParseInboundGeneral(frame, {});
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_ParseInboundMediaGeneral);

void BM_SerializeOutboundMedia(benchmark::State& state) {
  const auto audio = Audio(static_cast<size_t>(state.range(0)));
  const std::string stream_sid = "MZ18ad3ab5a668481ce02b83e7395059f0";
  std::string out;
  for (auto _ : state) {
    WriteOutboundMedia(stream_sid, audio, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_SerializeOutboundMedia)->Arg(160)->Arg(3200);

// A typical voice webhook: ~20 parameters, valid signature.
void BM_ValidateWebhook(benchmark::State& state) {
  const FormParams params = {
      {"AccountSid", "AC00000000000000000000000000000001"},
      {"ApiVersion", "2010-04-01"},
      {"CallSid", "CA00000000000000000000000000000002"},
      {"CallStatus", "ringing"},
      {"Called", "+14155550199"},
      {"CalledCity", "SAN FRANCISCO"},
      {"CalledCountry", "US"},
      {"CalledState", "CA"},
      {"CalledZip", "94105"},
      {"Caller", "+14155550100"},
      {"CallerCity", "OAKLAND"},
      {"CallerCountry", "US"},
      {"CallerState", "CA"},
      {"CallerZip", "94612"},
      {"Direction", "inbound"},
      {"From", "+14155550100"},
      {"FromCity", "OAKLAND"},
      {"FromCountry", "US"},
      {"To", "+14155550199"},
      {"ToCity", "SAN FRANCISCO"},
  };
  const std::string body = FormEncode(params);
  const tempo::TwilioAuthToken token("0123456789abcdef0123456789abcdef");
  const std::string url = "https://agent.example.com/agent/a1/incoming-call";
  const std::string signature = ComputeSignature(token, url, params);
  for (auto _ : state) {
    // What a webhook handler does: parse the body, then check the header.
    auto parsed = ParseForm(body);
    const bool ok = parsed && ValidateRequest(token, url, *parsed, signature);
    if (!ok) state.SkipWithError("signature did not validate");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_ValidateWebhook);

}  // namespace

BENCHMARK_MAIN();
