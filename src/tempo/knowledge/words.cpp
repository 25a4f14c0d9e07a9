#include "tempo/knowledge/words.hpp"

#include "tempo/base/strings.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <cstdint>

namespace tempo::knowledge {
namespace {

constexpr std::array<std::string_view, 20> kOnes = {
    "zero",     "one",     "two",     "three",     "four",     "five",    "six",
    "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",  "thirteen",
    "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
constexpr std::array<std::string_view, 10> kTens = {
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

void AppendBelowThousand(int n, std::vector<std::string>& out) {
  if (n >= 100) {
    out.emplace_back(kOnes[static_cast<std::size_t>(n / 100)]);
    out.emplace_back("hundred");
    n %= 100;
    if (n == 0) return;
  }
  if (n < 20) {
    out.emplace_back(kOnes[static_cast<std::size_t>(n)]);
    return;
  }
  out.emplace_back(kTens[static_cast<std::size_t>(n / 10)]);
  if (n % 10 != 0) out.emplace_back(kOnes[static_cast<std::size_t>(n % 10)]);
}

void AppendCardinal(uint64_t n, std::vector<std::string>& out) {
  if (n >= 1'000'000) {
    AppendBelowThousand(static_cast<int>(n / 1'000'000), out);
    out.emplace_back("million");
    n %= 1'000'000;
    if (n == 0) return;
  }
  if (n >= 1000) {
    AppendBelowThousand(static_cast<int>(n / 1000), out);
    out.emplace_back("thousand");
    n %= 1000;
    if (n == 0) return;
  }
  AppendBelowThousand(static_cast<int>(n), out);
}

enum class DigitGrouping { kNone, kCommas };

// Digit strings as people say them: cardinals up to 4 digits ("120" -> one hundred twenty) or
// when written with thousands separators ("10,000"), zero-led 2-digit minutes as "oh five",
// anything else (phone numbers, codes) digit by digit.
void AppendNumber(std::string_view digits, DigitGrouping grouping, std::vector<std::string>& out) {
  if (digits == "00") return;  // "3:00" is said "three"
  if (digits.size() == 2 && digits[0] == '0') {
    out.emplace_back("oh");
    out.emplace_back(kOnes[static_cast<std::size_t>(digits[1] - '0')]);
    return;
  }
  const bool cardinal =
      (digits.size() <= 4 || (grouping == DigitGrouping::kCommas && digits.size() <= 9)) &&
      (digits[0] != '0' || digits.size() == 1);
  if (cardinal) {
    uint64_t n = 0;
    for (char c : digits) n = n * 10 + static_cast<uint64_t>(c - '0');
    AppendCardinal(n, out);
    return;
  }
  for (char c : digits) out.emplace_back(kOnes[static_cast<std::size_t>(c - '0')]);
}

}  // namespace

std::vector<std::string> NormalizeWords(std::string_view sentence) {
  std::vector<std::string> words;
  std::size_t i = 0;
  bool after_number = false;
  while (i < sentence.size()) {
    const auto c = static_cast<unsigned char>(sentence[i]);
    if (std::isdigit(c) != 0) {
      std::size_t j = i;
      while (j < sentence.size() && std::isdigit(static_cast<unsigned char>(sentence[j])) != 0) ++j;
      // Digit grouping as in "10,000" joins the groups.
      std::string digits(sentence.substr(i, j - i));
      DigitGrouping grouping = DigitGrouping::kNone;
      while (j + 3 < sentence.size() && sentence[j] == ',' &&
             std::all_of(sentence.begin() + static_cast<std::ptrdiff_t>(j) + 1,
                         sentence.begin() + static_cast<std::ptrdiff_t>(j) + 4,
                         [](char d) { return std::isdigit(static_cast<unsigned char>(d)) != 0; })) {
        digits.append(sentence.substr(j + 1, 3));
        grouping = DigitGrouping::kCommas;
        j += 4;
      }
      const bool dollars = i > 0 && sentence[i - 1] == '$';
      AppendNumber(digits, grouping, words);
      if (dollars) words.emplace_back("dollars");
      after_number = true;
      i = j;
      continue;
    }
    if (std::isalpha(c) != 0 || c == '\'') {
      std::size_t j = i;
      while (j < sentence.size() &&
             (std::isalpha(static_cast<unsigned char>(sentence[j])) != 0 || sentence[j] == '\'')) {
        ++j;
      }
      std::string word = Lower(sentence.substr(i, j - i));
      while (!word.empty() && word.front() == '\'') word.erase(word.begin());
      while (!word.empty() && word.back() == '\'') word.pop_back();
      i = j;
      if (word.empty()) continue;
      // "a.m." arrives as "a", "m"; "3am" / "3 am" as "am" after a number.
      if (word == "am" && after_number) {
        words.emplace_back("a");
        words.emplace_back("m");
      } else {
        words.push_back(std::move(word));
      }
      after_number = false;
      continue;
    }
    if (c == '%') words.emplace_back("percent");
    if (c != ' ' && c != ':' && c != '.') after_number = false;
    ++i;
  }
  return words;
}

}  // namespace tempo::knowledge
