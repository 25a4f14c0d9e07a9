// H2ClientSession against nghttp2's own server side, in memory: the bytes each side writes are
// fed to the other, so every test is deterministic and needs no socket.
#include "tempo/net/h2_session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <deque>
#include <map>
#include <nghttp2/nghttp2.h>
#include <string>
#include <vector>

namespace tempo::net {
namespace {

// The peer: answers every request 200 at once and streams its body back, upper-cased, while
// the request is still sending; ends the answer when the request ends.
class EchoServer {
 public:
  explicit EchoServer(uint32_t max_streams = 100, uint32_t window = 65535) {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &OnFrame);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &OnData);
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    const std::array<nghttp2_settings_entry, 2> settings{{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
    }};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings.data(), settings.size());
  }
  ~EchoServer() { nghttp2_session_del(session_); }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

  bool Receive(std::string_view bytes) {
    return nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                    bytes.size()) >= 0;
  }
  std::string TakeOutput() {
    std::string out;
    const uint8_t* data = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(session_, &data)) > 0;) {
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return out;
  }
  void GoAway(int32_t last_stream) {
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, last_stream, NGHTTP2_NO_ERROR, nullptr, 0);
  }
  size_t bytes_received = 0;

 private:
  struct Stream {
    std::deque<std::string> out;
    bool ended = false;
    bool deferred = false;
  };

  static EchoServer& Of(void* user) { return *static_cast<EchoServer*>(user); }

  static ssize_t Read(nghttp2_session* /*s*/, int32_t stream, uint8_t* buf, size_t length,
                      uint32_t* flags, nghttp2_data_source* /*src*/, void* user) {
    auto& st = Of(user).streams_[stream];
    size_t copied = 0;
    while (copied < length && !st.out.empty()) {
      std::string& front = st.out.front();
      const size_t n = std::min(length - copied, front.size());
      std::memcpy(buf + copied, front.data(), n);
      front.erase(0, n);
      copied += n;
      if (front.empty()) st.out.pop_front();
    }
    if (st.out.empty() && st.ended) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (copied == 0) {
      st.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(copied);
  }

  void Resume(int32_t stream) {
    auto& st = streams_[stream];
    if (st.deferred) {
      st.deferred = false;
      nghttp2_session_resume_data(session_, stream);
    }
  }

  static int OnFrame(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    auto& self = Of(user);
    const int32_t id = frame->hd.stream_id;
    const bool end = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      self.streams_[id].ended = end;
      std::array<nghttp2_nv, 2> nva{{
          {(uint8_t*)":status", (uint8_t*)"200", 7, 3, NGHTTP2_NV_FLAG_NONE},
          {(uint8_t*)"x-echo", (uint8_t*)"upper", 6, 5, NGHTTP2_NV_FLAG_NONE},
      }};
      nghttp2_data_provider provider{};
      provider.read_callback = &Read;
      nghttp2_submit_response(s, id, nva.data(), nva.size(), &provider);
    } else if (frame->hd.type == NGHTTP2_DATA && end) {
      self.streams_[id].ended = true;
      self.Resume(id);
    }
    return 0;
  }

  static int OnData(nghttp2_session* /*s*/, uint8_t /*flags*/, int32_t stream, const uint8_t* data,
                    size_t length, void* user) {
    auto& self = Of(user);
    std::string upper(reinterpret_cast<const char*>(data), length);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    self.bytes_received += length;
    self.streams_[stream].out.push_back(std::move(upper));
    self.Resume(stream);
    return 0;
  }

  nghttp2_session* session_ = nullptr;
  std::map<int32_t, Stream> streams_;
};

struct Seen {
  std::map<int32_t, int> status;
  std::map<int32_t, std::string> body;
  std::map<int32_t, uint32_t> closed;
  std::vector<std::pair<int32_t, uint32_t>> goaways;
  int ping_acks = 0;
};

H2Callbacks Record(Seen& seen) {
  H2Callbacks cb;
  cb.on_headers = [&seen](int32_t stream, int status, const H2Headers& headers) {
    seen.status[stream] = status;
    EXPECT_NE(std::find(headers.begin(), headers.end(),
                        std::pair<std::string, std::string>("x-echo", "upper")),
              headers.end());
  };
  cb.on_data = [&seen](int32_t stream, std::string_view data) { seen.body[stream] += data; };
  cb.on_close = [&seen](int32_t stream, uint32_t code) { seen.closed[stream] = code; };
  cb.on_goaway = [&seen](int32_t last, uint32_t code) { seen.goaways.emplace_back(last, code); };
  cb.on_ping_ack = [&seen] { ++seen.ping_acks; };
  return cb;
}

// Moves bytes both ways until neither side has anything to say.
void Pump(H2ClientSession& client, EchoServer& server) {
  for (int round = 0; round < 10'000; ++round) {
    const std::string to_server = client.TakeOutput();
    if (!to_server.empty()) {
      ASSERT_TRUE(server.Receive(to_server));
    }
    const std::string to_client = server.TakeOutput();
    if (!to_client.empty()) {
      ASSERT_TRUE(client.Receive(to_client));
    }
    if (to_server.empty() && to_client.empty()) return;
  }
  FAIL() << "the sessions never went quiet";
}

H2Request Post(std::string path = "/model/x/invoke-with-bidirectional-stream") {
  H2Request r;
  r.authority = "bedrock-runtime.us-east-1.amazonaws.com";
  r.path = std::move(path);
  r.headers = {{"content-type", "application/vnd.amazon.eventstream"}};
  return r;
}

TEST(H2SessionTest, ABidirectionalStreamHearsBackWhileItIsStillSending) {
  Seen seen;
  auto client = H2ClientSession::Create(Record(seen));
  ASSERT_TRUE(client);
  EchoServer server;
  auto stream = (*client)->Submit(Post(), /*streaming_body=*/true);
  ASSERT_TRUE(stream);
  ASSERT_TRUE((*client)->SendData(*stream, "hello ", false));
  Pump(**client, server);
  EXPECT_EQ(seen.status[*stream], 200);
  EXPECT_EQ(seen.body[*stream], "HELLO ");  // the answer streams before the request ended
  EXPECT_FALSE(seen.closed.contains(*stream));
  ASSERT_TRUE((*client)->SendData(*stream, "world", true));
  Pump(**client, server);
  EXPECT_EQ(seen.body[*stream], "HELLO WORLD");
  ASSERT_TRUE(seen.closed.contains(*stream));
  EXPECT_EQ(seen.closed[*stream], 0u);
  EXPECT_EQ((*client)->OpenStreams(), 0u);
  EXPECT_FALSE((*client)->SendData(*stream, "late", true));  // the stream is gone
}

TEST(H2SessionTest, FlowControlCarriesABodyManyWindowsLongIntactAndInOrder) {
  Seen seen;
  auto client = H2ClientSession::Create(Record(seen), /*window=*/16 * 1024);
  ASSERT_TRUE(client);
  EchoServer server(100, /*window=*/16 * 1024);
  auto stream = (*client)->Submit(Post(), true);
  ASSERT_TRUE(stream);
  std::string body;
  for (int i = 0; body.size() < 1'000'000; ++i) body += "frame " + std::to_string(i) + ";";
  for (size_t at = 0; at < body.size(); at += 3200) {
    ASSERT_TRUE((*client)->SendData(*stream, body.substr(at, 3200), false));
  }
  EXPECT_EQ((*client)->QueuedBytes(*stream), body.size());
  // One exchange moves only what the peer's window allows; the rest waits for its updates.
  const std::string first = (*client)->TakeOutput();
  EXPECT_LT(first.size(), 100'000u);
  EXPECT_GT((*client)->QueuedBytes(*stream), 900'000u);
  ASSERT_TRUE(server.Receive(first));
  ASSERT_TRUE((*client)->SendData(*stream, "", true));
  Pump(**client, server);
  std::string upper = body;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(seen.body[*stream].size(), upper.size());
  EXPECT_TRUE(seen.body[*stream] == upper);
  EXPECT_EQ((*client)->QueuedBytes(*stream), 0u);
  EXPECT_EQ(seen.closed[*stream], 0u);
}

TEST(H2SessionTest, ManyStreamsShareTheConnectionAndThePeersLimitIsKnown) {
  Seen seen;
  auto client = H2ClientSession::Create(Record(seen));
  ASSERT_TRUE(client);
  EchoServer server(/*max_streams=*/3);
  Pump(**client, server);  // the SETTINGS exchange
  EXPECT_EQ((*client)->PeerMaxConcurrentStreams(), 3u);
  std::vector<int32_t> streams;
  for (int n = 0; n < 3; ++n) {
    auto s = (*client)->Submit(Post("/call/" + std::to_string(n)), true);
    ASSERT_TRUE(s);
    streams.push_back(*s);
  }
  EXPECT_EQ((*client)->OpenStreams(), 3u);
  for (size_t n = 0; n < streams.size(); ++n) {
    ASSERT_TRUE((*client)->SendData(streams[n], "call " + std::to_string(n), false));
  }
  Pump(**client, server);
  for (size_t n = 0; n < streams.size(); ++n) {
    EXPECT_EQ(seen.body[streams[n]], "CALL " + std::to_string(n));
    ASSERT_TRUE((*client)->SendData(streams[n], "", true));
  }
  Pump(**client, server);
  EXPECT_EQ(seen.closed.size(), 3u);
  EXPECT_EQ((*client)->OpenStreams(), 0u);
}

TEST(H2SessionTest, GoawayIsReportedAndNoNewStreamOpens) {
  Seen seen;
  auto client = H2ClientSession::Create(Record(seen));
  ASSERT_TRUE(client);
  EchoServer server;
  auto first = (*client)->Submit(Post(), true);
  ASSERT_TRUE(first);
  Pump(**client, server);
  server.GoAway(*first);
  Pump(**client, server);
  ASSERT_EQ(seen.goaways.size(), 1u);
  EXPECT_EQ(seen.goaways[0].first, *first);
  EXPECT_TRUE((*client)->GoingAway());
  EXPECT_FALSE((*client)->Submit(Post(), true));
  // The stream the peer kept finishes.
  ASSERT_TRUE((*client)->SendData(*first, "last words", true));
  Pump(**client, server);
  EXPECT_EQ(seen.body[*first], "LAST WORDS");
  EXPECT_EQ(seen.closed[*first], 0u);
}

TEST(H2SessionTest, PingIsAnsweredAndGarbageBreaksTheConnection) {
  Seen seen;
  auto client = H2ClientSession::Create(Record(seen));
  ASSERT_TRUE(client);
  EchoServer server;
  (*client)->Ping();
  Pump(**client, server);
  EXPECT_EQ(seen.ping_acks, 1);
  EXPECT_TRUE((*client)->Alive());
  // A SETTINGS frame 5 bytes long (settings are 6 bytes each) is a connection error.
  const std::string garbage = std::string("\x00\x00\x05\x04\x00\x00\x00\x00\x00", 9) + "abcde";
  EXPECT_FALSE((*client)->Receive(garbage));
}

}  // namespace
}  // namespace tempo::net
