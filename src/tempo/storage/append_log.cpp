#include "tempo/storage/append_log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace tempo::storage {

Result<AppendLog> AppendLog::Create(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Unavailable(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  }
  return AppendLog(path, fd);
}

AppendLog::AppendLog(AppendLog&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

AppendLog& AppendLog::operator=(AppendLog&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

AppendLog::~AppendLog() {
  if (fd_ >= 0) ::close(fd_);
}

Result<void> AppendLog::Append(std::string_view line) {
  if (fd_ < 0) return Internal("append log is closed");
  if (line.find('\n') != std::string_view::npos) return InvalidArgument("line contains newline");
  std::string buf;
  buf.reserve(line.size() + 1);
  buf.append(line);
  buf.push_back('\n');
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Unavailable(
          fmt::format("cannot append to {}: {}", path_.string(), std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    return Unavailable(fmt::format("cannot sync {}: {}", path_.string(), std::strerror(errno)));
  }
  return Ok();
}

void AppendLog::Remove() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
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
