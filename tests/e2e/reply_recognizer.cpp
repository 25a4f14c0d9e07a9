// Recognises what an agent of the local engine said in a recording of a call (e.g. the agent
// side that `tempovoice call --record` writes): segments the audio into utterances with the VAD
// and recognises each against a grammar of everything that agent can say (from the dialogue
// code), falling back to the agent's domain LM when the grammar search comes back empty.
//
//   reply_recognizer <agent.json> <agent.wav>
//
// Prints one JSON object per utterance:
//   {"start_ms":..,"end_ms":..,"text":"..","reply":"<matched reply or null>","wer":..}
// Exit status: 0 ok, 1 unreadable input or recogniser failure, 64 bad arguments.

#include "tempo/agent/agent_config.hpp"
#include "tempo/audio/wav.hpp"
#include "tempo/engine/local/dialogue.hpp"
#include "tempo/engine/local/vad.hpp"
#include "tempo/knowledge/words.hpp"

#include "local_call_harness.hpp"
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace tempo::engine::local {
namespace {

constexpr int kSamplesPerMs = kVadSampleRateHz / 1000;
// Agent audio around each segment handed to the recogniser: the VAD opens late and closes on
// the last voiced frame, so unvoiced onsets and endings would otherwise be cut.
constexpr int kLeadMs = 150;
constexpr int kTailMs = 250;

struct Segment {
  int64_t start_frame = 0;
  int64_t end_frame = 0;  // one past the last speech frame
};

/// Everything `agent` can say: the harness's list plus the lines only reached through tool
/// failures and repeated silence.
std::vector<std::string> AgentReplies(const agent::AgentConfig& agent) {
  std::vector<std::string> out = harness::PossibleReplies(agent);
  for (std::string_view tool : {"transfer_call", "voicemail"}) {
    Dialogue d(agent, "");
    (void)d.OnCallerText("i want a human");
    out.push_back(d.OnToolFailed(tool).text);
  }
  {
    Dialogue d(agent, "");
    (void)d.OnSilence();
    out.push_back(d.OnSilence().text);
  }
  std::erase_if(out, [](const std::string& s) { return knowledge::NormalizeWords(s).empty(); });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Segment> Segments(std::span<const int16_t> pcm8k) {
  auto vad = Vad::Create(VadMode::kAggressive);
  // A longer hang-over than the engine's turn-taking: the pauses between the sentences of one
  // reply should not split it.
  EndpointerConfig config;
  config.hangover_ms = 600;
  auto endpointer = Endpointer::Create(config);
  std::vector<Segment> out;
  if (!vad || !endpointer) return out;
  auto close = [&] {
    out.push_back({endpointer->segment_start_frame(), endpointer->segment_end_frame()});
  };
  for (std::size_t at = 0; at + kVadFrameSamples <= pcm8k.size(); at += kVadFrameSamples) {
    auto cls = vad->Classify(pcm8k.subspan(at, kVadFrameSamples));
    if (!cls) continue;
    if (endpointer->Push(*cls) == EndpointEvent::kSpeechEnd) close();
  }
  // The recording may end mid-utterance (the caller hung up while the agent spoke).
  if (endpointer->segment_confirmed()) {
    out.push_back({endpointer->segment_start_frame(), endpointer->frames_seen()});
  }
  return out;
}

int Run(int argc, char** argv) {
  if (argc != 3) {
    std::fputs("usage: reply_recognizer <agent.json> <agent.wav>\n", stderr);
    return 64;
  }
  std::ifstream in(argv[1]);
  std::stringstream text;
  text << in.rdbuf();
  auto agent = agent::FromJsonText(text.str(), agent::Unknown::kIgnore);
  if (!in || !agent) {
    fmt::print(stderr, "reply_recognizer: cannot read agent {}: {}\n", argv[1],
               agent ? "unreadable" : agent.error().message);
    return 1;
  }
  auto wav = audio::ReadWavFile(argv[2]);
  if (!wav) {
    fmt::print(stderr, "reply_recognizer: {}: {}\n", argv[2], wav.error().message);
    return 1;
  }
  // Mono 8 kHz, as the phone line carries it (first channel of a stereo file).
  std::vector<int16_t> mono(wav->frames());
  for (std::size_t i = 0; i < mono.size(); ++i) {
    mono[i] = wav->samples[i * static_cast<std::size_t>(wav->channels)];
  }
  const std::vector<int16_t> pcm8k = harness::Resample(mono, wav->sample_rate, kVadSampleRateHz);

  auto listener = harness::ReplyListener::Create(
      AgentReplies(*agent), std::filesystem::temp_directory_path() / "tempo-reply-recognizer");
  if (!listener) {
    std::fputs("reply_recognizer: cannot create the recogniser\n", stderr);
    return 1;
  }
  const int64_t frame_ms = kVadFrameMs;
  for (const Segment& s : Segments(pcm8k)) {
    const int64_t start_ms = s.start_frame * frame_ms;
    const int64_t end_ms = s.end_frame * frame_ms;
    const auto from = std::size_t(std::max<int64_t>(0, start_ms - kLeadMs) * kSamplesPerMs);
    const auto to = std::min(pcm8k.size(), std::size_t((end_ms + kTailMs) * kSamplesPerMs));
    const auto heard = listener->Listen(std::span(pcm8k).subspan(from, to - from), 8000);
    nlohmann::json line = {{"start_ms", start_ms},
                           {"end_ms", end_ms},
                           {"text", heard.text},
                           {"reply", nullptr},
                           {"wer", heard.wer}};
    if (heard.reply) line["reply"] = listener->replies()[*heard.reply];
    std::puts(line.dump().c_str());
  }
  return 0;
}

}  // namespace
}  // namespace tempo::engine::local

int main(int argc, char** argv) { return tempo::engine::local::Run(argc, argv); }
