#pragma once

// Internal to the control module: the single-use tickets of "talk to this agent".

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace tempo::control {

/// A logged-in POST (session + CSRF, tenant-checked on the blocking pool) issues a
/// single-use ticket; the WebSocket upgrade, which must decide on the I/O thread, then only
/// looks the ticket up in memory.
struct TalkTickets {
  struct Ticket {
    std::string agent_id;
    std::string call_sid;
    std::string session_token;  ///< the upgrade must carry the same session cookie
    std::chrono::steady_clock::time_point expires;
  };
  static constexpr std::chrono::seconds kTtl{60};
  static constexpr size_t kMaxPending = 1000;

  std::mutex mutex;
  std::map<std::string, Ticket> pending;  ///< by ticket
};

}  // namespace tempo::control
