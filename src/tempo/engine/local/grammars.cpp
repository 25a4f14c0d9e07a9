#include "tempo/engine/local/grammars.hpp"

#include <algorithm>
#include <cctype>

namespace tempo::engine::local {
namespace {

constexpr std::string_view kYesNo = R"(#JSGF V1.0;
grammar yes_no;
public <answer> = <yes> | <no>;
<yes> = (yes | yeah | yep | sure | correct | right | okay | that is right) [please | thanks | thank you];
<no> = (no | nope | not really | no thanks | no thank you) [thanks | thank you];
)";

constexpr std::string_view kDigits = R"(#JSGF V1.0;
grammar digits;
public <digits> = <digit>+;
<digit> = zero | oh | one | two | three | four | five | six | seven | eight | nine;
)";

constexpr std::string_view kTime = R"(#JSGF V1.0;
grammar time;
public <when> = [<day>] [at] <clock> | <day> [<part>] | noon | midnight;
<clock> = <hour> [<minute>] [<part>] | <hour> o'clock [<part>] | half past <hour> [<part>];
<hour> = one | two | three | four | five | six | seven | eight | nine | ten | eleven | twelve;
<minute> = fifteen | thirty | forty five | oh five | ten | twenty;
<part> = a m | p m | in the morning | in the afternoon | in the evening;
<day> = today | tomorrow | monday | tuesday | wednesday | thursday | friday | saturday | sunday;
)";

}  // namespace

std::string_view YesNoGrammarJsgf() { return kYesNo; }
std::string_view DigitsGrammarJsgf() { return kDigits; }
std::string_view TimeGrammarJsgf() { return kTime; }

std::vector<NamedGrammar> BuiltinGrammars() {
  return {{kYesNoGrammar, kYesNo}, {kDigitsGrammar, kDigits}, {kTimeGrammar, kTime}};
}

std::vector<std::string> JsgfWords(std::string_view jsgf) {
  std::vector<std::string> words;
  std::size_t pos = 0;
  while (pos < jsgf.size()) {
    std::size_t eol = jsgf.find('\n', pos);
    if (eol == std::string_view::npos) eol = jsgf.size();
    std::string_view line = jsgf.substr(pos, eol - pos);
    pos = eol + 1;
    if (auto c = line.find("//"); c != std::string_view::npos) line = line.substr(0, c);
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;  // header lines: #JSGF, grammar, import
    std::string_view body = line.substr(eq + 1);
    std::string word;
    int depth_angle = 0;
    int depth_brace = 0;
    auto flush = [&] {
      // Leading digits only occur in /weights/, never in terminals.
      if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0])) == 0) {
        words.push_back(std::move(word));
      }
      word.clear();
    };
    for (char ch : body) {
      const auto uc = static_cast<unsigned char>(ch);
      if (ch == '<') ++depth_angle;
      if (ch == '{') ++depth_brace;
      const bool in_word = depth_angle == 0 && depth_brace == 0 &&
                           (std::isalnum(uc) != 0 || ch == '\'' || ch == '-' || ch == '.');
      if (in_word) {
        word.push_back(static_cast<char>(std::tolower(uc)));
      } else {
        flush();
      }
      if (ch == '>') --depth_angle;
      if (ch == '}') --depth_brace;
    }
    flush();
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

}  // namespace tempo::engine::local
