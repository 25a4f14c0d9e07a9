#pragma once

#include "tempo/base/result.hpp"
#include "tempo/base/strong_id.hpp"
#include "tempo/runtime/call_record.hpp"

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace tempo::runtime {

/// Finished calls on their way to the call list. A call's entry (its write-ahead lines plus an
/// end line: everything the index needs) is written to `dir/<CallSid>.log` before the call is
/// indexed, and removed only once it is. While indexing fails (the database is down or locked),
/// a worker retries with exponential backoff and full jitter; the next start resumes whatever
/// is left. A database outage therefore delays the call list and never loses an entry.
/// Indexing is an upsert, so an entry delivered twice (a retry racing the first attempt) is
/// harmless. Thread-safe.
class FinishedCalls {
 public:
  using Sink = std::function<Result<void>(const CallRecord&)>;
  struct Options {
    /// The queue's name in logs and metrics (label `queue`): "index", "upload".
    std::string name = "index";
    /// What a successful delivery did, for the log: "indexed", "stored".
    std::string done = "indexed";
    std::chrono::milliseconds first_retry{250};
    /// "Within seconds" once the database is back: the wait never grows past this.
    std::chrono::milliseconds max_retry{4000};
    /// Failures in a row that end a retry pass: an outage fails every entry, so the pass stops
    /// early, while one entry that can never be indexed does not hold up the ones after it.
    int failures_per_pass = 3;
  };

  FinishedCalls(std::filesystem::path dir, Options options);
  /// Stops the worker (see Stop()).
  ~FinishedCalls();
  FinishedCalls(const FinishedCalls&) = delete;
  FinishedCalls& operator=(const FinishedCalls&) = delete;

  /// Sets where calls are delivered and starts the worker, which first delivers the entries a
  /// previous run left behind.
  void Start(Sink sink);
  [[nodiscard]] bool started() const;

  /// Writes the call's entry durably (fsync, rename). An error means nothing was written.
  Result<void> Record(const CallRecord& record);
  /// Delivers a recorded call now, on the calling thread; on failure it stays for the worker.
  /// False when it was not delivered (or nothing delivers calls).
  bool Deliver(const CallRecord& record);

  /// Tells the worker that a recorded entry waits (without delivering it here).
  void Wake();

  /// One last pass over what is left, then joins the worker. Whatever still fails stays on
  /// disk for the next start. Idempotent.
  void Stop();

  /// Entries waiting to be indexed.
  [[nodiscard]] size_t Backlog() const;
  /// Whether `call` has an entry: its artefacts were stored, and only indexing is left.
  [[nodiscard]] bool Has(const CallSid& call) const;

 private:
  [[nodiscard]] std::filesystem::path PathOf(const CallSid& call) const;
  void Run();
  /// Tries every entry once; false when the pass stopped on failures.
  bool Pass(const Sink& sink, bool final_pass);
  std::chrono::milliseconds NextDelay();

  struct Stats;
  static Stats& StatsFor(const std::string& queue);  // one set per queue name
  std::filesystem::path dir_;
  Options options_;
  Stats& stats_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  Sink sink_;
  bool pending_ = true;  // the folder may hold entries of a previous run
  bool stopping_ = false;
  int failed_passes_ = 0;
  std::thread worker_;
};

}  // namespace tempo::runtime
