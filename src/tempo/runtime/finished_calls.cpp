#include "tempo/runtime/finished_calls.hpp"

#include "tempo/base/backoff.hpp"
#include "tempo/base/log.hpp"
#include "tempo/base/metrics.hpp"
#include "tempo/storage/append_log.hpp"
#include "tempo/storage/object_store.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace tempo::runtime {
namespace {

constexpr std::string_view kExtension = ".log";

std::vector<std::filesystem::path> Entries(const std::filesystem::path& dir) {
  std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec) && entry.path().extension() == kExtension) {
      found.emplace_back(entry.last_write_time(ec), entry.path());
    }
  }
  // Oldest call first: CallSids are random, so order by the time the entry was written.
  std::sort(found.begin(), found.end());
  std::vector<std::filesystem::path> entries;
  entries.reserve(found.size());
  for (auto& [time, path] : found) entries.push_back(std::move(path));
  return entries;
}

}  // namespace

struct FinishedCalls::Stats {
  explicit Stats(const std::string& queue)
      : retries(metrics::Registry::Global().AddCounter(
            "tempo_spool_queue_retries_total",
            "Attempts to deliver a finished call again (index: the database was down; upload: "
            "the object store was)",
            {{"queue", queue}})),
        delayed(metrics::Registry::Global().AddCounter(
            "tempo_spool_queue_delayed_total",
            "Finished calls kept in the spool because their first attempt failed",
            {{"queue", queue}})),
        backlog(metrics::Registry::Global().AddGauge(
            "tempo_spool_queue_backlog",
            "Finished calls waiting in the spool (seen by the last pass; at a stop, what the "
            "next start resumes)",
            {{"queue", queue}})) {}
  metrics::Counter& retries;
  metrics::Counter& delayed;
  metrics::Gauge& backlog;
};

FinishedCalls::Stats& FinishedCalls::StatsFor(const std::string& queue) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<FinishedCalls::Stats>> all;
  std::lock_guard lock(mutex);
  auto& stats = all[queue];
  if (!stats) stats = std::make_unique<FinishedCalls::Stats>(queue);
  return *stats;
}

FinishedCalls::FinishedCalls(std::filesystem::path dir, Options options)
    : dir_(std::move(dir)), options_(std::move(options)), stats_(StatsFor(options_.name)) {}

FinishedCalls::~FinishedCalls() { Stop(); }

std::filesystem::path FinishedCalls::PathOf(const CallSid& call) const {
  return dir_ / (call.str() + std::string(kExtension));
}

void FinishedCalls::Start(Sink sink) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  std::lock_guard lock(mutex_);
  if (worker_.joinable() || stopping_) return;
  sink_ = std::move(sink);
  worker_ = std::thread([this] { Run(); });
}

bool FinishedCalls::started() const {
  std::lock_guard lock(mutex_);
  return static_cast<bool>(sink_);
}

Result<void> FinishedCalls::Record(const CallRecord& record) {
  std::string text = WalHeaderLine(record.info) + '\n';
  for (const auto& turn : record.turns) text += WalTurnLine(turn) + '\n';
  for (const auto& tool : record.tools) text += WalToolLine(tool) + '\n';
  text += WalEndLine(record) + '\n';
  return storage::WriteFileAtomic(PathOf(record.info.call_sid), text);
}

bool FinishedCalls::Deliver(const CallRecord& record) {
  Sink sink;
  {
    std::lock_guard lock(mutex_);
    sink = sink_;
  }
  if (!sink) return false;
  if (auto ok = sink(record); !ok) {
    stats_.delayed.Inc();
    TEMPO_LOG(runtime, warn, "[call={}] not {} yet, retrying until it is: {}", record.info.call_sid,
              options_.done, ok.error().message);
    Wake();
    return false;
  }
  std::error_code ec;
  std::filesystem::remove(PathOf(record.info.call_sid), ec);
  return true;
}

void FinishedCalls::Wake() {
  std::lock_guard lock(mutex_);
  pending_ = true;
  wake_.notify_one();
}

bool FinishedCalls::Pass(const Sink& sink, bool final_pass) {
  const auto entries = Entries(dir_);
  stats_.backlog.Set(static_cast<double>(entries.size()));
  int failures_in_a_row = 0;
  bool all_delivered = true;
  for (const auto& path : entries) {
    auto lines = storage::AppendLog::ReadLines(path);
    auto record = lines ? RecordFromWal(*lines) : Result<CallRecord>(lines.error());
    if (!record || path.stem().string() != record->info.call_sid.str()) {
      // Written whole and renamed into place: a file that does not parse was not written by
      // us. Kept apart for a person to look at, never retried.
      std::error_code ec;
      std::filesystem::create_directories(dir_ / "quarantine", ec);
      std::filesystem::rename(path, dir_ / "quarantine" / path.filename(), ec);
      TEMPO_LOG(runtime, error, "{} queue: {:?} is not a finished call; moved to quarantine",
                options_.name, path.filename().string());
      continue;
    }
    stats_.retries.Inc();
    if (auto ok = sink(*record); !ok) {
      all_delivered = false;
      if (++failures_in_a_row >= options_.failures_per_pass) {
        if (!final_pass) {
          TEMPO_LOG(runtime, warn, "{} queue: {} call(s) waiting to be {}: {}", options_.name,
                    entries.size(), options_.done, ok.error().message);
        }
        return false;
      }
      continue;
    }
    failures_in_a_row = 0;
    std::error_code ec;
    std::filesystem::remove(path, ec);
    TEMPO_LOG(runtime, info, "[call={}] {} after a retry", record->info.call_sid, options_.done);
  }
  // An entry that failed before later ones went through still waits: only a pass that
  // delivered everything lets the worker sleep until the next wake.
  return all_delivered;
}

std::chrono::milliseconds FinishedCalls::NextDelay() {
  // Many servers coming back from the same database outage don't all retry at once.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double random = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  return FullJitterDelay(options_.first_retry, options_.max_retry, failed_passes_ + 1, random);
}

void FinishedCalls::Run() {
  std::unique_lock lock(mutex_);
  auto next_try = std::chrono::steady_clock::now();
  while (!stopping_) {
    if (!pending_) {
      wake_.wait(lock, [&] { return stopping_ || pending_; });
      continue;
    }
    if (wake_.wait_until(lock, next_try, [&] { return stopping_; })) break;
    pending_ = false;
    const Sink sink = sink_;
    lock.unlock();
    const bool done = Pass(sink, false);
    lock.lock();
    if (done) {
      failed_passes_ = 0;
      next_try = std::chrono::steady_clock::now();
    } else {
      pending_ = true;
      next_try = std::chrono::steady_clock::now() + NextDelay();
      ++failed_passes_;
    }
  }
}

void FinishedCalls::Stop() {
  Sink sink;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    sink = sink_;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  // The stop's last chance: the database may be back by now.
  if (sink) (void)Pass(sink, true);
}

size_t FinishedCalls::Backlog() const { return Entries(dir_).size(); }

bool FinishedCalls::Has(const CallSid& call) const {
  std::error_code ec;
  return std::filesystem::exists(PathOf(call), ec);
}

}  // namespace tempo::runtime
