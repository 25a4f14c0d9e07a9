#include "tempo/runtime/call_session.hpp"

#include "tempo/audio/g711.hpp"
#include "tempo/audio/wav.hpp"
#include "tempo/base/base64.hpp"
#include "tempo/engine/echo_engine.hpp"
#include "tempo/runtime/runtime.hpp"
#include "tempo/storage/append_log.hpp"
#include "tempo/twilio/media_stream.hpp"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cmath>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace tempo::runtime {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

/// Runs posted work and timers when the test says so, against a FakeClock.
class FakeExecutor final : public Executor {
 public:
  explicit FakeExecutor(FakeClock& clock) : clock_(clock) {}

  class FakeTimer final : public Timer {
   public:
    explicit FakeTimer(FakeExecutor& ex) : ex_(ex) {}
    ~FakeTimer() override { Cancel(); }
    void ExpireAt(Clock::Steady::time_point when, std::function<void(bool)> cb) override {
      Cancel();
      id_ = ++ex_.next_timer_;
      ex_.timers_[id_] = {when, std::move(cb)};
    }
    void Cancel() override {
      if (auto it = ex_.timers_.find(id_); it != ex_.timers_.end()) {
        auto cb = std::move(it->second.second);
        ex_.timers_.erase(it);
        ex_.Post([cb = std::move(cb)] { cb(true); });
      }
    }

   private:
    FakeExecutor& ex_;
    uint64_t id_ = 0;
  };

  void Post(std::function<void()> fn) override { posted_.push_back(std::move(fn)); }
  std::unique_ptr<Timer> MakeTimer() override { return std::make_unique<FakeTimer>(*this); }

  /// Runs everything posted and every timer due at the clock's current time.
  void RunReady() {
    for (int guard = 0; guard < 100000; ++guard) {
      if (!posted_.empty()) {
        auto fn = std::move(posted_.front());
        posted_.pop_front();
        fn();
        continue;
      }
      auto due = timers_.end();
      for (auto it = timers_.begin(); it != timers_.end(); ++it) {
        if (it->second.first <= clock_.Now() &&
            (due == timers_.end() || it->second.first < due->second.first)) {
          due = it;
        }
      }
      if (due == timers_.end()) return;
      auto cb = std::move(due->second.second);
      timers_.erase(due);
      cb(false);
    }
    FAIL() << "executor did not settle";
  }

 private:
  FakeClock& clock_;
  std::deque<std::function<void()>> posted_;
  std::map<uint64_t, std::pair<Clock::Steady::time_point, std::function<void(bool)>>> timers_;
  uint64_t next_timer_ = 0;
};

/// Records what the server sends and delivers OnClose through the executor, like the server.
class FakeSocket final : public net::WebSocket {
 public:
  explicit FakeSocket(FakeExecutor& ex) : ex_(ex) {}
  void SendText(std::string message) override {
    if (!closed_) sent.push_back(std::move(message));
  }
  void SendBinary(std::string) override { ADD_FAILURE() << "the server must not send binary"; }
  void Close(uint16_t code, std::string reason) override {
    if (closed_) return;
    closed_ = true;
    close_code = code;
    close_reason = reason;
    ex_.Post([this, code] {
      if (auto l = listener.lock()) l->OnClose({code, close_reason, false});
    });
  }
  Executor& executor() override { return ex_; }
  size_t QueuedBytes() const override { return 0; }
  /// The peer drops the connection.
  void Drop() {
    closed_ = true;
    ex_.Post([this] {
      if (auto l = listener.lock()) l->OnClose({1006, "", true});
    });
  }

  std::vector<std::string> sent;
  std::weak_ptr<net::WebSocketListener> listener;
  std::optional<uint16_t> close_code;
  std::string close_reason;
  bool closed() const { return closed_; }

 private:
  FakeExecutor& ex_;
  bool closed_ = false;
};

/// An engine whose session throws from the call's executor, as a buggy engine would.
class ThrowingEngine final : public engine::SpeechEngine {
 public:
  [[nodiscard]] std::string_view name() const override { return "thrower"; }
  Result<std::unique_ptr<engine::SpeechSession>> Open(const engine::SessionParams&,
                                                      engine::SessionObserver&) override {
    class Session final : public engine::SpeechSession {
     public:
      [[nodiscard]] int input_sample_rate() const override { return 8000; }
      [[nodiscard]] int output_sample_rate() const override { return 8000; }
      void Start() override {}
      void SendAudio(std::span<const int16_t>) override {
        throw std::runtime_error("engine bug in SendAudio");
      }
      void SendDtmf(char) override {}
      void SendToolResult(const engine::ToolResult&) override {}
      void Close() override {}
    };
    return std::unique_ptr<engine::SpeechSession>(std::make_unique<Session>());
  }
};

/// An engine that asks the knowledge base as a model would: DTMF 1 searches for opening hours,
/// 2 for something the knowledge base does not hold, 3 without a query. Keeps the answers.
class SearchingEngine final : public engine::SpeechEngine {
 public:
  explicit SearchingEngine(std::shared_ptr<std::vector<std::string>> results)
      : results_(std::move(results)) {}
  [[nodiscard]] std::string_view name() const override { return "searcher"; }
  Result<std::unique_ptr<engine::SpeechSession>> Open(const engine::SessionParams&,
                                                      engine::SessionObserver& observer) override {
    class Session final : public engine::SpeechSession {
     public:
      Session(engine::SessionObserver& observer, std::shared_ptr<std::vector<std::string>> results)
          : observer_(observer), results_(std::move(results)) {}
      [[nodiscard]] int input_sample_rate() const override { return 8000; }
      [[nodiscard]] int output_sample_rate() const override { return 8000; }
      void Start() override {}
      void SendAudio(std::span<const int16_t>) override {}
      void SendDtmf(char digit) override {
        const char* args = digit == '1'   ? R"({"query":"What time do you open on Saturday?"})"
                           : digit == '2' ? R"({"query":"Do you sell used cars?"})"
                                          : R"({"topic":"hours"})";
        observer_.OnToolCall({fmt::format("search-{}", digit), "search_knowledge_base", args});
      }
      void SendToolResult(const engine::ToolResult& result) override {
        results_->push_back(result.content_json);
      }
      void Close() override {}

     private:
      engine::SessionObserver& observer_;
      std::shared_ptr<std::vector<std::string>> results_;
    };
    return std::unique_ptr<engine::SpeechSession>(std::make_unique<Session>(observer, results_));
  }

 private:
  std::shared_ptr<std::vector<std::string>> results_;
};

// The object store of the test, which can be made to fail like S3 during an outage.
class FlakyStore final : public storage::ObjectStore {
 public:
  explicit FlakyStore(storage::ObjectStore& inner) : inner_(inner) {}
  std::atomic<bool> down{false};
  Result<void> EnsureBucket(std::string_view bucket) override {
    if (down) return Unavailable("s3: connection refused");
    return inner_.EnsureBucket(bucket);
  }
  Result<void> Put(std::string_view bucket, std::string_view key, std::string_view data) override {
    if (down) return Unavailable("s3: connection refused");
    return inner_.Put(bucket, key, data);
  }
  Result<void> PutFile(std::string_view bucket, std::string_view key,
                       const std::filesystem::path& file) override {
    if (down) return Unavailable("s3: connection refused");
    return inner_.PutFile(bucket, key, file);
  }
  Result<std::string> Get(std::string_view bucket, std::string_view key) override {
    return inner_.Get(bucket, key);
  }
  Result<bool> Exists(std::string_view bucket, std::string_view key) override {
    if (down) return Unavailable("s3: connection refused");
    return inner_.Exists(bucket, key);
  }
  Result<uint64_t> Size(std::string_view bucket, std::string_view key) override {
    return inner_.Size(bucket, key);
  }
  Result<std::string> GetRange(std::string_view bucket, std::string_view key, uint64_t first,
                               uint64_t count) override {
    return inner_.GetRange(bucket, key, first, count);
  }
  Result<std::vector<std::string>> List(std::string_view bucket, std::string_view prefix) override {
    return inner_.List(bucket, prefix);
  }
  std::optional<std::filesystem::path> LocalPath(std::string_view bucket,
                                                 std::string_view key) override {
    return inner_.LocalPath(bucket, key);
  }

 private:
  storage::ObjectStore& inner_;
};

class CallSessionTest : public ::testing::Test {
 protected:
  CallSessionTest()
      : data_(std::filesystem::temp_directory_path() /
              fmt::format("tempo-call-{}-{}", getpid(),
                          ::testing::UnitTest::GetInstance()->current_test_info()->name())),
        executor_(clock_),
        socket_(std::make_shared<FakeSocket>(executor_)) {
    std::filesystem::remove_all(data_);
    store_ = std::move(*storage::OpenFsStore(data_ / "objects"));
    agent::AgentConfig a;
    a.agent_id = AgentId("echo-line");
    a.agent_name = "Echo Line";
    a.engine = "echo";
    a.twilio_auth_token = TwilioAuthToken("token");
    a.transfer_phone_number = "+14155550101";
    agents_.Put(a);
    engines_.Add(engine::MakeEchoEngine());
    engines_.Add(std::make_unique<ThrowingEngine>());
    engines_.Add(std::make_unique<SearchingEngine>(search_results_));
    RuntimeOptions options;
    options.data_dir = data_;
    flaky_ = std::make_unique<FlakyStore>(*store_);
    runtime_ = std::make_unique<Runtime>(options, agents_, engines_, *flaky_, clock_,
                                         [](std::function<void()> fn) { fn(); });
    session_ = CallSession::Create(*runtime_, agents_.Find(AgentId("echo-line")), socket_);
    socket_->listener = session_;
  }
  ~CallSessionTest() override { std::filesystem::remove_all(data_); }

  void Text(const std::string& s) {
    session_->OnText(s);
    executor_.RunReady();
  }
  void Start() {
    runtime_->ExpectCall(AgentId("echo-line"), CallSid(kCall), "+14155550100", "+14155550199");
    Text(R"({"event":"connected","protocol":"Call","version":"1.0.0"})");
    Text(fmt::format(
        R"({{"event":"start","sequenceNumber":"1","start":{{"accountSid":"AC00000000000000000000000000000001","streamSid":"{}","callSid":"{}","tracks":["inbound"],"mediaFormat":{{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"customParameters":{{"from":"+14155550100"}}}},"streamSid":"{}"}})",
        kStream, kCall, kStream));
  }
  std::string Media(bool speech) {
    std::vector<uint8_t> mulaw(160);
    for (auto& b : mulaw) {
      const double v = speech ? 8000 * std::sin(2 * M_PI * 300 * double(sample_++) / 8000) : 0;
      b = audio::LinearToMulaw(static_cast<int16_t>(v));
    }
    ++chunk_;
    return fmt::format(
        R"({{"event":"media","sequenceNumber":"{}","media":{{"track":"inbound","chunk":"{}","timestamp":"{}","payload":"{}"}},"streamSid":"{}"}})",
        chunk_ + 1, chunk_, (chunk_ - 1) * 20, base64::Encode(mulaw), kStream);
  }
  /// Plays `ms` of caller audio in real time; Twilio echoes our marks at once.
  void Speak(int ms, bool speech) {
    for (int t = 0; t < ms; t += 20) {
      clock_.Advance(milliseconds(20));
      executor_.RunReady();
      Text(Media(speech));
      EchoMarks();
    }
  }
  void EchoMarks() {
    for (; seen_ < socket_->sent.size(); ++seen_) {
      const auto j = json::parse(socket_->sent[seen_]);
      if (j["event"] == "mark") {
        Text(fmt::format(
            R"({{"event":"mark","sequenceNumber":"9","streamSid":"{}","mark":{{"name":"{}"}}}})",
            kStream, j["mark"]["name"].get<std::string>()));
      }
    }
  }
  /// A call whose caller presses '#' after the greeting: the agent ends it (end_call).
  void EndByAgent() {
    Start();
    Speak(600, false);
    Text(fmt::format(
        R"({{"event":"dtmf","streamSid":"{}","sequenceNumber":"5","dtmf":{{"track":"inbound_track","digit":"#"}}}})",
        kStream));
    Speak(100, false);
  }
  int Count(std::string_view event) const {
    int n = 0;
    for (const auto& s : socket_->sent) n += json::parse(s)["event"] == event;
    return n;
  }
  /// 20 ms frames of agent audio sent so far.
  int Frames() const {
    size_t bytes = 0;
    for (const auto& s : socket_->sent) {
      const auto j = json::parse(s);
      if (j["event"] == "media") {
        bytes += base64::Decode(j["media"]["payload"].get<std::string>())->size();
      }
    }
    return static_cast<int>(bytes / 160);
  }
  json Object(const std::string& name) {
    auto text =
        store_->Get("tempo-agent-transcripts-echo-line", fmt::format("calls/{}/{}", kCall, name));
    EXPECT_TRUE(text) << name;
    return text ? json::parse(*text) : json();
  }

  static constexpr const char* kCall = "CA00000000000000000000000000000001";
  static constexpr const char* kStream = "MZ00000000000000000000000000000001";
  std::filesystem::path data_;
  FakeClock clock_;
  FakeExecutor executor_;
  std::shared_ptr<FakeSocket> socket_;
  std::unique_ptr<storage::ObjectStore> store_;
  std::unique_ptr<FlakyStore> flaky_;
  MemoryAgentDirectory agents_;
  engine::EngineRegistry engines_;
  std::shared_ptr<std::vector<std::string>> search_results_ =
      std::make_shared<std::vector<std::string>>();
  std::unique_ptr<Runtime> runtime_;
  std::shared_ptr<CallSession> session_;
  size_t sample_ = 0;
  int chunk_ = 0;
  size_t seen_ = 0;
};

TEST_F(CallSessionTest, FullCallLeavesTranscriptRecordingAndMetadata) {
  Start();
  Speak(600, false);   // the greeting tone plays
  Speak(1000, true);   // caller speaks for a second
  Speak(2000, false);  // echo comes back after the pause and plays out
  // Greeting 300 ms + echo 1 s, in whole 20 ms frames (up to two per message), each turn
  // followed by a mark.
  EXPECT_EQ(Frames(), 15 + 50);
  EXPECT_EQ(Count("mark"), 2);
  for (const auto& s : socket_->sent) {
    const auto j = json::parse(s);
    EXPECT_EQ(j["streamSid"], kStream);
    if (j["event"] == "media") {
      const auto size = base64::Decode(j["media"]["payload"].get<std::string>())->size();
      EXPECT_TRUE(size == 160u || size == 320u) << size;
    }
  }
  Text(fmt::format(
      R"({{"event":"stop","sequenceNumber":"200","stop":{{"accountSid":"AC00000000000000000000000000000001","callSid":"{}"}},"streamSid":"{}"}})",
      kCall, kStream));
  EXPECT_EQ(socket_->close_code, 1000);

  const auto transcript = Object("transcript.json");
  EXPECT_EQ(transcript["status"], "complete");
  ASSERT_EQ(transcript["turns"].size(), 3u);
  EXPECT_EQ(transcript["turns"][0]["role"], "agent");
  EXPECT_EQ(transcript["turns"][1]["role"], "caller");
  EXPECT_EQ(transcript["turns"][2]["text"], "[echo 1.00 s]");
  EXPECT_FALSE(transcript["turns"][2]["interrupted"].get<bool>());

  const auto meta = Object("metadata.json");
  EXPECT_EQ(meta["outcome"], "completed");
  EXPECT_EQ(meta["from"], "+14155550100");
  EXPECT_EQ(meta["frames"]["in"], 180);
  EXPECT_EQ(meta["frames"]["out"], 65);
  EXPECT_EQ(meta["marks"]["played"], 2);
  EXPECT_EQ(meta["turnLatenciesMs"].size(), 1u);

  auto wav = audio::ReadWavFile(*store_->LocalPath("tempo-agent-transcripts-echo-line",
                                                   fmt::format("calls/{}/recording.wav", kCall)));
  ASSERT_TRUE(wav) << wav.error().message;
  EXPECT_EQ(wav->channels, 2);
  EXPECT_EQ(wav->sample_rate, 8000);
  // The right channel holds the echo: the caller's tone, a pause later.
  double left = 0, right = 0;
  for (size_t i = 0; i + 1 < wav->samples.size(); i += 2) {
    left += std::abs(wav->samples[i]);
    right += std::abs(wav->samples[i + 1]);
  }
  EXPECT_GT(left, 0);
  EXPECT_GT(right, left * 0.8);  // greeting + echo of the same second of speech
  EXPECT_FALSE(std::filesystem::exists(data_ / "spool" / (std::string(kCall) + ".wal")));
}

TEST_F(CallSessionTest, BadInputIsCountedAndTheCallEndsCleanly) {
  Text(Media(true));  // media before start
  Start();
  Text("this is not json");
  session_->OnBinary("\x01\x02");
  Text(R"({"event":"dance","streamSid":"x"})");
  Text(
      R"({"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"0","payload":"AAAA"},"streamSid":"MZwrong"})");
  Text(fmt::format(
      R"({{"event":"media","sequenceNumber":"3","media":{{"track":"inbound","chunk":"1","timestamp":"0","payload":"@@@"}},"streamSid":"{}"}})",
      kStream));
  Text(fmt::format(
      R"({{"event":"media","sequenceNumber":"3","media":{{"track":"inbound","chunk":"1","timestamp":"0","payload":"{}"}},"streamSid":"{}"}})",
      base64::Encode(std::string(20000, '\x7f')), kStream));
  // Any length is valid audio (Twilio allows it): an odd-sized payload is played, not refused.
  Text(fmt::format(
      R"({{"event":"media","sequenceNumber":"3","media":{{"track":"inbound","chunk":"1","timestamp":"0","payload":"{}"}},"streamSid":"{}"}})",
      base64::Encode(std::string(77, '\xff')), kStream));
  Start();  // duplicate start
  EXPECT_FALSE(socket_->closed()) << "a few bad messages do not end the call";
  Speak(200, false);
  socket_->Drop();
  executor_.RunReady();

  const auto meta = Object("metadata.json");
  EXPECT_EQ(meta["outcome"], "dropped");
  const auto& bad = meta["badInput"];
  for (const char* reason : {"not_json", "binary_frame", "unknown_event", "wrong_stream_sid",
                             "bad_base64", "payload_too_large", "duplicate_start"}) {
    EXPECT_EQ(bad.value(reason, 0), 1) << reason << " in " << bad.dump();
  }
  EXPECT_EQ(meta["frames"]["in"], 11);  // the odd-sized frame and 10 of silence
  EXPECT_TRUE(Object("transcript.json").contains("turns"));
}

TEST_F(CallSessionTest, AFloodOfBadMessagesEndsTheCall) {
  Start();
  for (int i = 0; i < 60; ++i) Text("{");
  EXPECT_EQ(socket_->close_code, 1008);
  EXPECT_EQ(Object("metadata.json")["outcome"], "error");
}

TEST_F(CallSessionTest, BargeInClearsQueuedAudioAndCutsTheTurn) {
  Start();
  Speak(600, false);
  Speak(2000, true);
  Speak(700, false);  // the echo of 2 s has started
  const int frames_before = Frames();
  Speak(200, true);  // caller talks over it
  EXPECT_EQ(Count("clear"), 1);
  Speak(2000, false);
  // Far fewer than the 100 echo frames went out.
  EXPECT_LT(Frames() - frames_before, 40);
  Text(fmt::format(
      R"({{"event":"stop","sequenceNumber":"200","stop":{{"accountSid":"AC00000000000000000000000000000001","callSid":"{}"}},"streamSid":"{}"}})",
      kCall, kStream));
  const auto transcript = Object("transcript.json");
  bool cut = false;
  for (const auto& t : transcript["turns"]) cut = cut || t["interrupted"].get<bool>();
  EXPECT_TRUE(cut) << transcript.dump();
  EXPECT_EQ(Object("metadata.json")["interruptions"], 1);
}

TEST_F(CallSessionTest, EndCallToolClosesTheStreamAndAnswersHangup) {
  EndByAgent();
  EXPECT_EQ(socket_->close_code, 1000);
  EXPECT_EQ(Object("metadata.json")["outcome"], "ended_by_agent");
  EXPECT_EQ(Object("transcript.json")["toolCalls"][0]["name"], "end_call");
}

TEST_F(CallSessionTest, SearchKnowledgeBaseAnswersFromTheAgentsKnowledgeBase) {
  auto a = *agents_.Find(AgentId("echo-line"));
  a.engine = "searcher";
  a.knowledge_base = {
      {"What are your opening hours?", "We are open 8 to 5 on weekdays and 9 to 1 on Saturday."},
      {"Where are you located?", "We are at 12 Harbour Street."},
      {"Do you take walk-ins?", "Walk-ins are welcome before noon."}};
  agents_.Put(a);
  session_ = CallSession::Create(*runtime_, agents_.Find(AgentId("echo-line")), socket_);
  socket_->listener = session_;
  Start();
  for (const char digit : {'1', '2', '3'}) {
    Text(fmt::format(
        R"({{"event":"dtmf","streamSid":"{}","sequenceNumber":"5","dtmf":{{"track":"inbound_track","digit":"{}"}}}})",
        kStream, digit));
  }
  ASSERT_EQ(search_results_->size(), 3U);
  const auto hours = json::parse(search_results_->at(0));
  EXPECT_EQ(hours["status"], "ok");
  ASSERT_FALSE(hours["results"].empty()) << hours.dump();
  EXPECT_EQ(hours["results"][0]["answer"], a.knowledge_base[0].answer);
  EXPECT_FALSE(hours.contains("note"));
  const auto cars = json::parse(search_results_->at(1));
  EXPECT_EQ(cars["status"], "ok");
  EXPECT_TRUE(cars["results"].empty()) << cars.dump();
  EXPECT_THAT(cars["note"].get<std::string>(), ::testing::HasSubstr("don't know"));
  EXPECT_EQ(json::parse(search_results_->at(2))["status"], "error");
}

// Issue #23: a call that ends while the call list's database is down is kept (spool/finished)
// and indexed with its real outcome once the database is back, without a restart; a stop in
// between leaves it for the next start, which does not relabel it as interrupted.
TEST_F(CallSessionTest, ACallEndedDuringADatabaseOutageIsIndexedOnceItIsBack) {
  std::atomic<bool> down{true};
  std::mutex mutex;
  std::vector<CallRecord> indexed;
  auto hook = [&](const CallRecord& r) -> Result<void> {
    if (down) return Unavailable("postgres: cannot reconnect");
    std::lock_guard lock(mutex);
    indexed.push_back(r);
    return Ok();
  };
  runtime_->SetCallFinishedHook(hook);
  EndByAgent();
  ASSERT_EQ(socket_->close_code, 1000);
  const auto spool = data_ / "spool";
  EXPECT_FALSE(std::filesystem::exists(spool / (std::string(kCall) + ".wal")));
  EXPECT_EQ(runtime_->IndexBacklog(), 1u);

  down = false;
  for (int i = 0; i < 2000 && runtime_->IndexBacklog() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  runtime_->StopIndexing();
  ASSERT_EQ(runtime_->IndexBacklog(), 0u);
  ASSERT_EQ(indexed.size(), 1u);
  EXPECT_EQ(indexed[0].end.outcome, "ended_by_agent");
  EXPECT_EQ(indexed[0].tools.at(0).name, "end_call");
  EXPECT_EQ(json::parse(indexed[0].MetadataJson(true)), Object("metadata.json"));
}

TEST_F(CallSessionTest, AStopDuringADatabaseOutageLeavesTheCallForTheNextStart) {
  std::atomic<bool> down{true};
  std::vector<CallRecord> indexed;
  runtime_->SetCallFinishedHook([&](const CallRecord& r) -> Result<void> {
    if (down) return Unavailable("sqlite: database is locked");
    indexed.push_back(r);
    return Ok();
  });
  Start();
  Speak(600, false);
  Text(fmt::format(
      R"({{"event":"stop","sequenceNumber":"200","stop":{{"accountSid":"AC00000000000000000000000000000001","callSid":"{}"}},"streamSid":"{}"}})",
      kCall, kStream));
  runtime_->StopIndexing();
  EXPECT_EQ(runtime_->IndexBacklog(), 1u);
  // As if the process had died after the entry was written and before the write-ahead file
  // was removed: both are in the spool.
  const auto wal = data_ / "spool" / (std::string(kCall) + ".wal");
  {
    std::ofstream out(wal);
    CallInfo info;
    info.call_sid = CallSid(kCall);
    info.agent_id = AgentId("echo-line");
    out << WalHeaderLine(info) << "\n";
  }

  down = false;
  MemoryAgentDirectory agents;
  RuntimeOptions options;
  options.data_dir = data_;
  Runtime restarted(options, agents, engines_, *store_, clock_, [](auto fn) { fn(); });
  restarted.SetCallFinishedHook([&](const CallRecord& r) -> Result<void> {
    indexed.push_back(r);
    return Ok();
  });
  auto recovered = restarted.RecoverSpool();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(*recovered, 0u);  // nothing was interrupted
  EXPECT_FALSE(std::filesystem::exists(wal));
  restarted.StopIndexing();
  ASSERT_EQ(indexed.size(), 1u);
  EXPECT_EQ(indexed[0].end.outcome, "completed");
  EXPECT_EQ(Object("metadata.json")["outcome"], "completed");
  EXPECT_EQ(Object("transcript.json")["status"], "complete");
  session_.reset();
}

// Issue #24: a call that ends while the object store is down ends normally; its artefacts
// are kept in spool/upload and stored (then indexed, with the call's real outcome) once the
// store is back, without a restart.
TEST_F(CallSessionTest, ArtefactsAreUploadedOnceTheStoreIsBack) {
  std::mutex mutex;
  std::vector<CallRecord> indexed;
  runtime_->SetCallFinishedHook([&](const CallRecord& r) -> Result<void> {
    std::lock_guard lock(mutex);
    indexed.push_back(r);
    return Ok();
  });
  flaky_->down = true;
  EndByAgent();
  ASSERT_EQ(socket_->close_code, 1000);
  const auto spool = data_ / "spool";
  EXPECT_FALSE(std::filesystem::exists(spool / (std::string(kCall) + ".wal")));
  EXPECT_TRUE(std::filesystem::exists(spool / (std::string(kCall) + ".wav")));
  EXPECT_EQ(runtime_->UploadBacklog(), 1u);
  EXPECT_EQ(runtime_->SpoolBacklog(), 1u);

  flaky_->down = false;
  for (int i = 0; i < 2000 && runtime_->UploadBacklog() + runtime_->IndexBacklog() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  runtime_->StopIndexing();
  EXPECT_EQ(runtime_->UploadBacklog(), 0u);
  EXPECT_EQ(Object("metadata.json")["outcome"], "ended_by_agent");
  EXPECT_EQ(Object("transcript.json")["status"], "complete");
  EXPECT_FALSE(Object("metadata.json")["recording"].is_null());
  ASSERT_EQ(indexed.size(), 1u);
  EXPECT_EQ(indexed[0].end.outcome, "ended_by_agent");
  EXPECT_FALSE(std::filesystem::exists(spool / (std::string(kCall) + ".wav")));
}

TEST_F(CallSessionTest, StartForACallNotAnsweredIsRejected) {
  Text(fmt::format(
      R"({{"event":"start","sequenceNumber":"1","start":{{"accountSid":"AC00000000000000000000000000000001","streamSid":"{}","callSid":"CAforged","tracks":["inbound"],"mediaFormat":{{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1}},"customParameters":{{}}}},"streamSid":"{}"}})",
      kStream, kStream));
  EXPECT_EQ(socket_->close_code, 1008);
  EXPECT_FALSE(std::filesystem::exists(data_ / "objects" / "tempo-agent-transcripts-echo-line"));
}

TEST_F(CallSessionTest, FinishedTurnsOfACrashedCallAreRecovered) {
  Start();
  Speak(600, false);
  Speak(800, true);
  Speak(700, false);
  // The process dies here: no stop, no close. Only the spool remains.
  const auto wal = data_ / "spool" / (std::string(kCall) + ".wal");
  ASSERT_TRUE(std::filesystem::exists(wal));
  auto lines = storage::AppendLog::ReadLines(wal);
  ASSERT_TRUE(lines);
  EXPECT_GE(lines->size(), 3u);  // header, greeting turn, caller turn

  MemoryAgentDirectory agents;
  RuntimeOptions options;
  options.data_dir = data_;
  Runtime restarted(options, agents, engines_, *store_, clock_, [](auto fn) { fn(); });
  auto recovered = restarted.RecoverSpool();
  ASSERT_TRUE(recovered) << recovered.error().message;
  EXPECT_EQ(*recovered, 1u);
  const auto transcript = Object("transcript.json");
  EXPECT_EQ(transcript["status"], "recovered");
  ASSERT_GE(transcript["turns"].size(), 2u);
  EXPECT_EQ(transcript["turns"][1]["role"], "caller");
  EXPECT_EQ(Object("metadata.json")["outcome"], "interrupted");
  EXPECT_FALSE(std::filesystem::exists(wal));
  session_.reset();
}

// Issue #26: a call never runs without its write-ahead file (here a folder stands where the
// file must go, as a full disk or a descriptor limit would stop it being created).
TEST_F(CallSessionTest, ACallWhoseWriteAheadFileCannotBeCreatedEndsWithAnApology) {
  std::filesystem::create_directories(data_ / "spool" / (std::string(kCall) + ".wal"));
  Start();
  EXPECT_EQ(socket_->close_code, 1011);
  const auto metadata = Object("metadata.json");
  EXPECT_EQ(metadata["outcome"], "error");
  EXPECT_THAT(metadata["endReason"].get<std::string>(),
              ::testing::HasSubstr("cannot create the call's write-ahead file"));
}

TEST_F(CallSessionTest, AnExceptionInTheEngineEndsThisCallAsAnErrorWithItsArtefacts) {
  agent::AgentConfig a = *agents_.Find(AgentId("echo-line"));
  a.engine = "thrower";
  agents_.Put(a);
  session_ = CallSession::Create(*runtime_, agents_.Find(AgentId("echo-line")), socket_);
  socket_->listener = session_;
  Start();
  Speak(100, true);  // the first caller frame reaches the engine, which throws
  EXPECT_EQ(socket_->close_code, 1011);
  const auto metadata = Object("metadata.json");
  EXPECT_EQ(metadata["outcome"], "error");
  EXPECT_THAT(metadata["endReason"].get<std::string>(),
              ::testing::HasSubstr("engine bug in SendAudio"));
  EXPECT_EQ(Object("transcript.json")["status"], "complete");
  // Later frames of the dead call are ignored, not thrown again.
  EXPECT_NO_THROW(Text(Media(true)));
}

}  // namespace
}  // namespace tempo::runtime
