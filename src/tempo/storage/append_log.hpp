#pragma once

#include "tempo/base/result.hpp"

#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::storage {

/// A durable line log: each append writes its lines and fdatasync()s them, so after a crash
/// every appended line is on disk. Used as the write-ahead file of a running call (appended on
/// finished transcript turns and tool calls: rare events, so the sync cost is fine). It holds
/// no descriptor between appends: a call then keeps only its socket and its recording open,
/// and more calls fit under the process's descriptor limit. Not thread-safe: one writer.
class AppendLog {
 public:
  /// Creates the file (or keeps what it holds) and checks that it can be written.
  static Result<AppendLog> Create(const std::filesystem::path& path);

  /// Appends `line` (must not contain '\n') and a newline, then syncs.
  Result<void> Append(std::string_view line);
  /// Appends each line with one open and one sync. Nothing is written when a line holds a
  /// newline.
  Result<void> AppendLines(std::span<const std::string> lines);
  /// Deletes the file (the call finished and its artefacts are stored).
  void Remove();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  /// Every complete line of a log; a torn last line (crash mid-write) is dropped.
  static Result<std::vector<std::string>> ReadLines(const std::filesystem::path& path);

 private:
  explicit AppendLog(std::filesystem::path path) : path_(std::move(path)) {}
  Result<void> Write(std::string_view text);
  std::filesystem::path path_;
};

}  // namespace tempo::storage
