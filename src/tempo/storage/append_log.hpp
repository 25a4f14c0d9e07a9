#pragma once

#include "tempo/base/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::storage {

/// A durable line log: each Append() writes one line and fdatasync()s it, so after a crash
/// every appended line is on disk. Used as the write-ahead file of a running call (one per
/// call, appended on finished transcript turns — rare events, so the sync cost is fine).
/// Not thread-safe: one writer.
class AppendLog {
 public:
  static Result<AppendLog> Create(const std::filesystem::path& path);
  AppendLog(AppendLog&& other) noexcept;
  AppendLog& operator=(AppendLog&& other) noexcept;
  AppendLog(const AppendLog&) = delete;
  AppendLog& operator=(const AppendLog&) = delete;
  ~AppendLog();

  /// Appends `line` (must not contain '\n') and a newline, then syncs.
  Result<void> Append(std::string_view line);
  /// Closes and deletes the file (the call finished and its artefacts are stored).
  void Remove();
  [[nodiscard]] const std::filesystem::path& path() const { return path_; }

  /// Every complete line of a log; a torn last line (crash mid-write) is dropped.
  static Result<std::vector<std::string>> ReadLines(const std::filesystem::path& path);

 private:
  AppendLog(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace tempo::storage
