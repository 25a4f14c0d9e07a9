#include "tempo/net/h2_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <nghttp2/nghttp2.h>
#include <utility>

namespace tempo::net {

struct H2ClientSession::Impl {
  // What a stream still has to send.
  struct Outgoing {
    std::deque<std::string> chunks;
    size_t offset = 0;  // into chunks.front()
    size_t queued = 0;
    bool end = false;       // no more after the queued chunks
    bool deferred = false;  // nghttp2 waits for us to resume it
  };
  struct Incoming {
    int status = 0;
    H2Headers headers;
    bool head_done = false;
  };

  H2Callbacks callbacks;
  nghttp2_session* session = nullptr;
  std::map<int32_t, Outgoing> outgoing;
  std::map<int32_t, Incoming> incoming;
  size_t open_streams = 0;
  bool going_away = false;
  std::optional<std::string> broken;  // a connection error the peer caused
  std::string pending_output;         // produced while receiving, not yet taken

  ~Impl() {
    if (session != nullptr) nghttp2_session_del(session);
  }

  static Impl& Of(void* user_data) { return *static_cast<Impl*>(user_data); }

  // nghttp2 asks for the next piece of a stream's body.
  static ssize_t ReadBody(nghttp2_session* /*session*/, int32_t stream, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* /*source*/, void* user_data) {
    auto& impl = Of(user_data);
    auto it = impl.outgoing.find(stream);
    if (it == impl.outgoing.end()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    Outgoing& out = it->second;
    size_t copied = 0;
    while (copied < length && !out.chunks.empty()) {
      const std::string& front = out.chunks.front();
      const size_t n = std::min(length - copied, front.size() - out.offset);
      std::copy_n(front.data() + out.offset, n, buf + copied);  // binary: no terminator
      copied += n;
      out.offset += n;
      if (out.offset == front.size()) {
        out.chunks.pop_front();
        out.offset = 0;
      }
    }
    out.queued -= copied;
    if (out.chunks.empty() && out.end) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (copied == 0) {
      out.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    return static_cast<ssize_t>(copied);
  }

  static int OnBeginHeaders(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                            void* user_data) {
    if (frame->hd.type == NGHTTP2_HEADERS) {
      auto& in = Of(user_data).incoming[frame->hd.stream_id];
      in.headers.clear();
      in.status = 0;
    }
    return 0;
  }

  static int OnHeader(nghttp2_session* /*session*/, const nghttp2_frame* frame, const uint8_t* name,
                      size_t name_length, const uint8_t* value, size_t value_length,
                      uint8_t /*flags*/, void* user_data) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    auto& in = Of(user_data).incoming[frame->hd.stream_id];
    const std::string_view n(reinterpret_cast<const char*>(name), name_length);
    const std::string_view v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":status") {
      int status = 0;
      for (const char c : v) {
        if (c < '0' || c > '9') return NGHTTP2_ERR_CALLBACK_FAILURE;
        status = status * 10 + (c - '0');
        if (status > 999) return NGHTTP2_ERR_CALLBACK_FAILURE;
      }
      in.status = status;
      return 0;
    }
    in.headers.emplace_back(n, v);
    return 0;
  }

  static int OnFrameReceived(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                             void* user_data) {
    auto& impl = Of(user_data);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        auto& in = impl.incoming[frame->hd.stream_id];
        // An informational head (1xx) is not the response.
        if (in.status >= 100 && in.status < 200) return 0;
        const int status = in.head_done ? 0 : in.status;
        in.head_done = true;
        if (impl.callbacks.on_headers) {
          impl.callbacks.on_headers(frame->hd.stream_id, status, in.headers);
        }
        break;
      }
      case NGHTTP2_GOAWAY:
        impl.going_away = true;
        if (impl.callbacks.on_goaway) {
          impl.callbacks.on_goaway(frame->goaway.last_stream_id, frame->goaway.error_code);
        }
        break;
      case NGHTTP2_PING:
        if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0 && impl.callbacks.on_ping_ack) {
          impl.callbacks.on_ping_ack();
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int OnDataChunk(nghttp2_session* /*session*/, uint8_t /*flags*/, int32_t stream,
                         const uint8_t* data, size_t length, void* user_data) {
    auto& impl = Of(user_data);
    if (impl.callbacks.on_data) {
      impl.callbacks.on_data(stream, std::string_view(reinterpret_cast<const char*>(data), length));
    }
    return 0;
  }

  // Connection errors (a malformed frame, a protocol violation): the session queues a GOAWAY
  // and stops reading; the caller is told through Receive.
  static int OnError(nghttp2_session* /*session*/, int /*code*/, const char* message, size_t length,
                     void* user_data) {
    auto& impl = Of(user_data);
    if (!impl.broken) impl.broken.emplace(message, length);
    return 0;
  }

  // nghttp2 answers a peer's protocol violation with a GOAWAY carrying the error.
  static int OnFrameSent(nghttp2_session* /*session*/, const nghttp2_frame* frame,
                         void* user_data) {
    auto& impl = Of(user_data);
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
        !impl.broken) {
      impl.broken =
          fmt::format("connection error ({})", nghttp2_http2_strerror(frame->goaway.error_code));
    }
    return 0;
  }

  static int OnStreamClose(nghttp2_session* /*session*/, int32_t stream, uint32_t error_code,
                           void* user_data) {
    auto& impl = Of(user_data);
    const bool ours = impl.outgoing.erase(stream) > 0;
    impl.incoming.erase(stream);
    if (ours && impl.open_streams > 0) --impl.open_streams;
    if (ours && impl.callbacks.on_close) impl.callbacks.on_close(stream, error_code);
    return 0;
  }
};

namespace {

Error H2Error(std::string_view what, int code) {
  return Unavailable(fmt::format("http2: {}: {}", what, nghttp2_strerror(code)));
}

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  // nghttp2 copies name and value (no NO_COPY flags) before Submit returns.
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

Result<std::unique_ptr<H2ClientSession>> H2ClientSession::Create(H2Callbacks callbacks,
                                                                 uint32_t window) {
  auto impl = std::make_unique<Impl>();
  impl->callbacks = std::move(callbacks);
  nghttp2_session_callbacks* cbs = nullptr;
  if (int rv = nghttp2_session_callbacks_new(&cbs); rv != 0) return H2Error("callbacks", rv);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Impl::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Impl::OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Impl::OnFrameReceived);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Impl::OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Impl::OnStreamClose);
  nghttp2_session_callbacks_set_error_callback2(cbs, &Impl::OnError);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &Impl::OnFrameSent);
  const int rv = nghttp2_session_client_new(&impl->session, cbs, impl.get());
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return H2Error("session", rv);
  const std::array<nghttp2_settings_entry, 2> settings{{
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
  }};
  if (int s = nghttp2_submit_settings(impl->session, NGHTTP2_FLAG_NONE, settings.data(),
                                      settings.size());
      s != 0) {
    return H2Error("settings", s);
  }
  // The connection's window: room for several streams' worth before WINDOW_UPDATEs.
  const int64_t connection = std::min<int64_t>(int64_t{window} * 4, (int64_t{1} << 31) - 1);
  nghttp2_session_set_local_window_size(impl->session, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(connection));
  return std::unique_ptr<H2ClientSession>(new H2ClientSession(std::move(impl)));
}

H2ClientSession::H2ClientSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
H2ClientSession::~H2ClientSession() = default;

Result<int32_t> H2ClientSession::Submit(const H2Request& request, bool streaming_body) {
  if (impl_->going_away) return Unavailable("http2: the connection is going away");
  std::vector<nghttp2_nv> nva;
  nva.reserve(4 + request.headers.size());
  nva.push_back(Nv(":method", request.method));
  nva.push_back(Nv(":scheme", request.scheme));
  nva.push_back(Nv(":authority", request.authority));
  nva.push_back(Nv(":path", request.path));
  for (const auto& [name, value] : request.headers) nva.push_back(Nv(name, value));
  nghttp2_data_provider provider{};
  provider.read_callback = &Impl::ReadBody;
  const int32_t stream = nghttp2_submit_request(impl_->session, nullptr, nva.data(), nva.size(),
                                                streaming_body ? &provider : nullptr, nullptr);
  if (stream < 0) return H2Error("request", stream);
  impl_->outgoing[stream];  // a stream without a body has nothing queued: it closes normally
  if (!streaming_body) impl_->outgoing[stream].end = true;
  ++impl_->open_streams;
  return stream;
}

Result<void> H2ClientSession::SendData(int32_t stream, std::string data, bool end) {
  auto it = impl_->outgoing.find(stream);
  if (it == impl_->outgoing.end()) {
    return InvalidArgument(fmt::format("http2: stream {} is not open", stream));
  }
  Impl::Outgoing& out = it->second;
  if (out.end) return InvalidArgument(fmt::format("http2: stream {} was already ended", stream));
  out.queued += data.size();
  if (!data.empty()) out.chunks.push_back(std::move(data));
  out.end = end;
  if (out.deferred) {
    out.deferred = false;
    nghttp2_session_resume_data(impl_->session, stream);
  }
  return Ok();
}

void H2ClientSession::Cancel(int32_t stream) {
  nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream, NGHTTP2_CANCEL);
}

void H2ClientSession::Ping() { nghttp2_submit_ping(impl_->session, NGHTTP2_FLAG_NONE, nullptr); }

void H2ClientSession::GoAway() {
  impl_->going_away = true;
  nghttp2_session_terminate_session(impl_->session, NGHTTP2_NO_ERROR);
}

Result<void> H2ClientSession::Receive(std::string_view bytes) {
  const ssize_t n = nghttp2_session_mem_recv(
      impl_->session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (n < 0) return H2Error("receive", static_cast<int>(n));
  // What the peer's bytes call for (acks, window updates, a GOAWAY for a violation) is made
  // now, so that a connection error is known here; TakeOutput hands it out.
  impl_->pending_output += TakeOutput();
  if (impl_->broken) return ProtocolError("http2: " + *impl_->broken);
  return Ok();
}

std::string H2ClientSession::TakeOutput() {
  std::string out = std::exchange(impl_->pending_output, std::string());
  while (true) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(impl_->session, &data);
    if (n <= 0) break;  // nothing more, or a fatal error Alive() will report
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return out;
}

bool H2ClientSession::Alive() const {
  return nghttp2_session_want_read(impl_->session) != 0 ||
         nghttp2_session_want_write(impl_->session) != 0;
}

uint32_t H2ClientSession::PeerMaxConcurrentStreams() const {
  return nghttp2_session_get_remote_settings(impl_->session,
                                             NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

size_t H2ClientSession::OpenStreams() const { return impl_->open_streams; }

size_t H2ClientSession::QueuedBytes(int32_t stream) const {
  auto it = impl_->outgoing.find(stream);
  return it == impl_->outgoing.end() ? 0 : it->second.queued;
}

bool H2ClientSession::GoingAway() const { return impl_->going_away; }

}  // namespace tempo::net
