#include "tempo/base/secret.hpp"

#include "tempo/base/strong_id.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <sstream>
#include <unordered_set>

namespace tempo {
namespace {

TEST(Secret, NeverPrintsItsValue) {
  const TwilioAuthToken token("s3cr3t-token");
  EXPECT_EQ(fmt::format("token={}", token), "token=***");
  std::ostringstream os;
  os << token;
  EXPECT_EQ(os.str(), "***");
  EXPECT_EQ(token.Reveal(), "s3cr3t-token");
}

TEST(StrongId, ComparesHashesAndFormats) {
  const CallSid a("CA1"), b("CA2");
  EXPECT_LT(a, b);
  EXPECT_EQ(fmt::format("{}", a), "CA1");
  std::unordered_set<CallSid> set{a, b, CallSid("CA1")};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace tempo
