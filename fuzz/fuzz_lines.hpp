#pragma once

// Shared by the fuzz targets whose input is a sequence of lines (one field, turn or setting a
// line), so that one input exercises many of them.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::fuzz {

/// `text` split at '\n' (no line ending kept; a trailing newline adds no empty line). `Line` is
/// std::string_view (views into `text`) or std::string (copies).
template <class Line = std::string_view>
std::vector<Line> Lines(std::string_view text) {
  std::vector<Line> out;
  while (!text.empty()) {
    const std::size_t eol = text.find('\n');
    out.emplace_back(text.substr(0, eol));
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return out;
}

}  // namespace tempo::fuzz
