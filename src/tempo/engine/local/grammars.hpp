#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tempo::engine::local {

/// Search names of the built-in JSGF grammars every Recognizer registers.
inline constexpr std::string_view kYesNoGrammar = "yes_no";
inline constexpr std::string_view kDigitsGrammar = "digits";
inline constexpr std::string_view kTimeGrammar = "time";

/// JSGF text of the closed sub-dialog grammars: yes/no answers, digit strings (phone numbers,
/// codes) and times of day ("tomorrow at three p m", "ten thirty in the morning").
std::string_view YesNoGrammarJsgf();
std::string_view DigitsGrammarJsgf();
std::string_view TimeGrammarJsgf();

/// Name/JSGF pairs of all built-in grammars.
struct NamedGrammar {
  std::string_view name;
  std::string_view jsgf;
};
std::vector<NamedGrammar> BuiltinGrammars();

/// The terminal words of a JSGF grammar (lower-case, sorted, unique): everything in rule bodies
/// outside <rule references>, {tags} and comments. Used to put grammar words in the dictionary.
std::vector<std::string> JsgfWords(std::string_view jsgf);

}  // namespace tempo::engine::local
