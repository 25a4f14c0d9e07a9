#include "tempo/base/json_text.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace tempo {
namespace {

TEST(DumpJsonTest, ReplacesInvalidUtf8InsteadOfThrowing) {
  const nlohmann::json j = {{"from", "+1555\xff\x9b"}, {"ok", "caf\xc3\xa9"}};
  ASSERT_THROW((void)j.dump(), nlohmann::json::type_error);  // what DumpJson is for
  const std::string text = DumpJson(j);
  const auto back = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(back.is_discarded()) << text;
  EXPECT_EQ(back["from"], "+1555\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(back["ok"], "caf\xc3\xa9");
}

TEST(ValidUtf8Test, ReplacesLikeDumpJsonAndKeepsValidText) {
  EXPECT_EQ(ValidUtf8("+1555\xff\x9b"), "+1555\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_EQ(ValidUtf8("caf\xc3\xa9 \"quoted\" \\ \n"), "caf\xc3\xa9 \"quoted\" \\ \n");
  EXPECT_EQ(ValidUtf8(std::string_view("a\0b", 3)), std::string("a\0b", 3));
  EXPECT_EQ(DumpJson(nlohmann::json(ValidUtf8("x\xc3\x28"))),
            DumpJson(nlohmann::json("x\xc3\x28")));
}

TEST(DumpJsonTest, IndentsLikeDump) {
  const nlohmann::json j = {{"a", 1}};
  EXPECT_EQ(DumpJson(j), j.dump());
  EXPECT_EQ(DumpJson(j, 2), j.dump(2));
}

}  // namespace
}  // namespace tempo
