#pragma once
// Private to net/ (includes Asio): the Executor and Timer over an Asio strand, shared by the
// server and the client, and the completion handler every co_spawn uses.

#include "tempo/base/executor.hpp"
#include "tempo/base/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string_view>

namespace tempo::net::detail {

using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

/// Awaits an operation and returns its error code with its results instead of throwing.
inline constexpr auto kUseTuple = boost::asio::as_tuple(boost::asio::use_awaitable);

/// Completion handler for co_spawn: session work must never fail silently.
inline auto LogFailure(std::string_view what) {
  return [what](const std::exception_ptr& failure) {
    if (!failure) return;
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      TEMPO_LOG(net, error, "{} failed: {}", what, e.what());
    } catch (...) {
      TEMPO_LOG(net, error, "{} failed with a non-standard exception", what);
    }
  };
}

/// A steady_timer on a strand. A destroyed Timer never calls its callback.
class StrandTimer final : public Timer {
 public:
  explicit StrandTimer(const Strand& strand) : timer_(strand), state_(std::make_shared<State>()) {}
  ~StrandTimer() override { state_->alive = false; }

  void ExpireAt(std::chrono::steady_clock::time_point when,
                std::function<void(bool cancelled)> callback) override {
    // The generation guards against a wait that completed (successfully) but whose handler
    // had not run yet when the timer was re-armed: it must report cancelled.
    const uint64_t generation = ++state_->generation;
    timer_.expires_at(when);
    timer_.async_wait([state = std::weak_ptr<State>(state_), generation,
                       callback = std::move(callback)](const boost::system::error_code& ec) {
      auto alive = state.lock();
      if (!alive || !alive->alive) return;  // the Timer is gone: its owner no longer cares
      callback(ec == boost::asio::error::operation_aborted || generation != alive->generation);
    });
  }

  void Cancel() override {
    ++state_->generation;
    timer_.cancel();
  }

 private:
  struct State {
    uint64_t generation = 0;
    bool alive = true;
  };
  boost::asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

/// The Executor interface over a strand.
class StrandExecutor final : public Executor {
 public:
  explicit StrandExecutor(Strand strand) : strand_(std::move(strand)) {}
  void Post(std::function<void()> fn) override {
    boost::asio::post(strand_, [fn = std::move(fn)]() {
      try {
        fn();
      } catch (const std::exception& e) {
        TEMPO_LOG(net, error, "posted task threw: {}", e.what());
      }
    });
  }
  std::unique_ptr<Timer> MakeTimer() override { return std::make_unique<StrandTimer>(strand_); }
  [[nodiscard]] const Strand& strand() const { return strand_; }

 private:
  Strand strand_;
};

}  // namespace tempo::net::detail
