#include "tempo/base/result.hpp"

#include <gtest/gtest.h>

namespace tempo {
namespace {

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("not positive");
  return v;
}

Result<int> Doubled(int v) {
  TEMPO_ASSIGN_OR_RETURN(const int x, ParsePositive(v));
  return x * 2;
}

Result<void> Check(int v) {
  TEMPO_TRY(ParsePositive(v));
  return Ok();
}

TEST(Result, PropagatesValuesAndErrors) {
  EXPECT_EQ(*Doubled(4), 8);
  auto bad = Doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().ToString(), "invalid_argument: not positive");
  EXPECT_TRUE(Check(1));
  EXPECT_FALSE(Check(0));
}

TEST(Result, ValueThrowsOnlyAtEdges) {
  EXPECT_THROW((void)Doubled(0).value(), ErrorException);
  EXPECT_EQ(Doubled(1).value(), 2);
}

}  // namespace
}  // namespace tempo
