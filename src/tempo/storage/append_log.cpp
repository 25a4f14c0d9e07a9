#include "tempo/storage/append_log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace tempo::storage {

namespace {

// Opens for appending (creating the file when it is missing), or says why it cannot.
Result<int> OpenForAppend(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  return fd;
}

}  // namespace

Result<AppendLog> AppendLog::Create(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto fd = OpenForAppend(path);
  if (!fd) return fd.error();
  ::close(*fd);
  return AppendLog(path);
}

Result<void> AppendLog::Append(std::string_view line) {
  const std::string one(line);
  return AppendLines(std::span<const std::string>(&one, 1));
}

Result<void> AppendLog::AppendLines(std::span<const std::string> lines) {
  std::string text;
  for (const auto& line : lines) {
    if (line.find('\n') != std::string::npos) return InvalidArgument("line contains newline");
    text.append(line);
    text.push_back('\n');
  }
  if (text.empty()) return Ok();
  return Write(text);
}

Result<void> AppendLog::Write(std::string_view text) {
  auto fd = OpenForAppend(path_);
  if (!fd) return fd.error();
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(*fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(*fd);
      return Unavailable(
          fmt::format("cannot append to {}: {}", path_.string(), std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fdatasync(*fd) == 0;
  const int err = errno;
  ::close(*fd);
  if (!synced) {
    return Unavailable(fmt::format("cannot sync {}: {}", path_.string(), std::strerror(err)));
  }
  return Ok();
}

void AppendLog::Remove() {
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

Result<std::vector<std::string>> AppendLog::ReadLines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(fmt::format("cannot read {}", path.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string data = ss.str();
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = data.find('\n', start);
    if (nl == std::string::npos) break;  // anything after the last newline is torn
    if (nl > start) lines.emplace_back(data.substr(start, nl - start));
    start = nl + 1;
  }
  return lines;
}

}  // namespace tempo::storage
