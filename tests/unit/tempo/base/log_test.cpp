#include "tempo/base/log.hpp"

#include <gtest/gtest.h>

namespace tempo::log {
namespace {

TEST(Log, ParsesLevels) {
  spdlog::level::level_enum level{};
  EXPECT_TRUE(ParseLevel("debug", level));
  EXPECT_EQ(level, spdlog::level::debug);
  EXPECT_TRUE(ParseLevel("error", level));
  EXPECT_EQ(level, spdlog::level::err);
  EXPECT_FALSE(ParseLevel("loud", level));
}

TEST(Log, LimiterLetsThroughPowersOfTwo) {
  std::atomic<uint64_t> counter{0};
  std::vector<uint64_t> passed;
  for (int i = 0; i < 20; ++i) {
    uint64_t n = 0;
    if (ShouldLogOccurrence(counter, n)) passed.push_back(n);
  }
  EXPECT_EQ(passed, (std::vector<uint64_t>{1, 2, 4, 8, 16}));
}

TEST(Log, JsonLinesEscapeMessages) {
  testing::internal::CaptureStderr();
  Init({.format = Format::kJson, .level = spdlog::level::info});
  TEMPO_LOG(net, info, "quote \" and newline \n done");
  TEMPO_LOG(net, debug, "filtered out");
  Get(Component::k_net).flush();
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find(R"("component":"net","msg":"quote \" and newline \n done"})"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("filtered out"), std::string::npos);
  Init({.format = Format::kText});
}

}  // namespace
}  // namespace tempo::log
