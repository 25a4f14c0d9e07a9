#include "tempo/runtime/finished_calls.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>

namespace tempo::runtime {
namespace {

using namespace std::chrono_literals;

CallRecord Call(int n, std::string outcome = "completed") {
  CallRecord r;
  r.info.call_sid = CallSid(fmt::format("CA{:032x}", n));
  r.info.agent_id = AgentId("front-desk");
  r.info.from = "+14155550100";
  r.info.started_at_ms = 1'795'046'400'000 + n;
  r.turns.push_back({engine::Role::kAgent, "Hello", 0, 900, false});
  r.end.outcome = std::move(outcome);
  r.end.reason = "caller hung up";
  r.end.ended_at_ms = r.info.started_at_ms + 30'000;
  r.stats.marks_played = 3;
  return r;
}

// What the sink received, and a switch that makes it fail like a database that is down.
struct Index {
  std::mutex mutex;
  std::map<std::string, std::string> rows;  // CallSid -> metadata.json
  std::atomic<bool> down{false};
  std::set<std::string> never;  // CallSids it can never take
  std::atomic<int> attempts{0};

  FinishedCalls::Sink Sink() {
    return [this](const CallRecord& r) -> Result<void> {
      ++attempts;
      if (down || never.contains(r.info.call_sid.str())) return Unavailable("database is down");
      std::lock_guard lock(mutex);
      rows[r.info.call_sid.str()] = r.MetadataJson(false);
      return Ok();
    };
  }
  size_t Size() {
    std::lock_guard lock(mutex);
    return rows.size();
  }
};

bool WaitFor(const std::function<bool()>& done) {
  for (auto until = std::chrono::steady_clock::now() + 20s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(2ms)) {
    if (done()) return true;
  }
  return done();
}

class FinishedCallsTest : public ::testing::Test {
 protected:
  FinishedCallsTest()
      : dir_(std::filesystem::temp_directory_path() /
             fmt::format("tempo-finished-{}-{}", getpid(),
                         ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(dir_);
  }
  ~FinishedCallsTest() override { std::filesystem::remove_all(dir_); }
  static FinishedCalls::Options Fast() {
    FinishedCalls::Options o;
    o.first_retry = 1ms;
    o.max_retry = 5ms;
    return o;
  }
  std::filesystem::path dir_;
};

TEST_F(FinishedCallsTest, ACallIsKeptWhileTheIndexIsDownAndIndexedOnceItIsBack) {
  Index index;
  FinishedCalls calls(dir_, Fast());
  calls.Start(index.Sink());
  index.down = true;
  for (int n = 1; n <= 20; ++n) {
    const auto r = Call(n);
    ASSERT_TRUE(calls.Record(r));
    EXPECT_FALSE(calls.Deliver(r));
  }
  EXPECT_EQ(calls.Backlog(), 20u);
  EXPECT_TRUE(calls.Has(Call(7).info.call_sid));
  // Retried while down: still nothing lost, nothing indexed.
  ASSERT_TRUE(WaitFor([&] { return index.attempts > 60; }));
  EXPECT_EQ(index.Size(), 0u);
  EXPECT_EQ(calls.Backlog(), 20u);

  index.down = false;
  ASSERT_TRUE(WaitFor([&] { return calls.Backlog() == 0; }));
  ASSERT_EQ(index.Size(), 20u);
  // Each keeps its real outcome and counters: the entry alone rebuilds the record.
  for (int n = 1; n <= 20; ++n) {
    EXPECT_EQ(index.rows[Call(n).info.call_sid.str()], Call(n).MetadataJson(false));
  }
}

TEST_F(FinishedCallsTest, WhatAStopLeavesIsIndexedAtTheNextStart) {
  Index index;
  index.down = true;
  {
    FinishedCalls calls(dir_, Fast());
    calls.Start(index.Sink());
    for (int n = 1; n <= 5; ++n) {
      ASSERT_TRUE(calls.Record(Call(n, "transferred")));
      EXPECT_FALSE(calls.Deliver(Call(n, "transferred")));
    }
    calls.Stop();  // the last pass fails too: the entries stay
    EXPECT_EQ(calls.Backlog(), 5u);
  }
  index.down = false;
  FinishedCalls restarted(dir_, Fast());
  EXPECT_EQ(restarted.Backlog(), 5u);
  restarted.Start(index.Sink());
  ASSERT_TRUE(WaitFor([&] { return restarted.Backlog() == 0; }));
  ASSERT_EQ(index.Size(), 5u);
  EXPECT_EQ(nlohmann::json::parse(index.rows[Call(3).info.call_sid.str()])["outcome"],
            "transferred");
}

TEST_F(FinishedCallsTest, TheLastPassAtStopIndexesWhatItCan) {
  Index index;
  FinishedCalls calls(dir_, FinishedCalls::Options{});  // a long wait between retries
  calls.Start(index.Sink());
  index.down = true;
  ASSERT_TRUE(calls.Record(Call(1)));
  EXPECT_FALSE(calls.Deliver(Call(1)));
  index.down = false;
  calls.Stop();
  EXPECT_EQ(calls.Backlog(), 0u);
  EXPECT_EQ(index.Size(), 1u);
}

TEST_F(FinishedCallsTest, ACallThatCanNeverBeIndexedDoesNotHoldUpTheOthers) {
  Index index;
  index.never.insert(Call(1).info.call_sid.str());
  index.down = true;
  FinishedCalls calls(dir_, Fast());
  calls.Start(index.Sink());
  for (int n = 1; n <= 10; ++n) {
    ASSERT_TRUE(calls.Record(Call(n)));
    EXPECT_FALSE(calls.Deliver(Call(n)));
    std::this_thread::sleep_for(2ms);  // entries are taken oldest first
  }
  index.down = false;
  ASSERT_TRUE(WaitFor([&] { return index.Size() == 9; }));
  EXPECT_EQ(calls.Backlog(), 1u);
  EXPECT_TRUE(calls.Has(Call(1).info.call_sid));
}

TEST_F(FinishedCallsTest, AnEntryThatFailedBeforeLaterOnesWentThroughIsRetried) {
  // The database comes back in the middle of a pass: the first entry fails, the second is
  // indexed. The first must not wait for a wake that never comes.
  std::atomic<int> first_attempts{0};
  Index index;
  const auto first = Call(1).info.call_sid.str();
  std::filesystem::create_directories(dir_);
  FinishedCalls calls(dir_, Fast());
  ASSERT_TRUE(calls.Record(Call(1)));
  std::this_thread::sleep_for(5ms);  // entries are taken oldest first
  ASSERT_TRUE(calls.Record(Call(2)));
  calls.Start([&](const CallRecord& r) -> Result<void> {
    if (r.info.call_sid.str() == first && first_attempts++ == 0) return Unavailable("down");
    return index.Sink()(r);
  });
  ASSERT_TRUE(WaitFor([&] { return calls.Backlog() == 0; }));
  EXPECT_EQ(index.Size(), 2u);
  EXPECT_EQ(first_attempts.load(), 2);
}

TEST_F(FinishedCallsTest, AFileThatIsNotAFinishedCallIsQuarantined) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "CA00000000000000000000000000000009.log") << "not json\n";
  // A valid call under another call's name is not trusted either.
  {
    FinishedCalls writer(dir_, Fast());
    ASSERT_TRUE(writer.Record(Call(2)));
  }
  std::filesystem::rename(dir_ / (Call(2).info.call_sid.str() + ".log"),
                          dir_ / (Call(3).info.call_sid.str() + ".log"));
  Index index;
  FinishedCalls calls(dir_, Fast());
  ASSERT_TRUE(calls.Record(Call(4)));
  calls.Start(index.Sink());
  ASSERT_TRUE(WaitFor([&] { return calls.Backlog() == 0; }));
  EXPECT_EQ(index.Size(), 1u);
  EXPECT_TRUE(
      std::filesystem::exists(dir_ / "quarantine" / "CA00000000000000000000000000000009.log"));
  EXPECT_TRUE(
      std::filesystem::exists(dir_ / "quarantine" / (Call(3).info.call_sid.str() + ".log")));
}

TEST_F(FinishedCallsTest, WithoutASinkNothingIsDelivered) {
  FinishedCalls calls(dir_, Fast());
  EXPECT_FALSE(calls.started());
  EXPECT_FALSE(calls.Deliver(Call(1)));
}

}  // namespace
}  // namespace tempo::runtime
