#include "tempo/base/system_memory.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace tempo {
namespace {

std::optional<uint64_t> ParseNumber(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::optional<uint64_t> ParseMemAvailable(std::string_view meminfo) {
  constexpr std::string_view kKey = "MemAvailable:";
  size_t at = 0;
  while (at < meminfo.size()) {
    const size_t end = std::min(meminfo.find('\n', at), meminfo.size());
    std::string_view line = meminfo.substr(at, end - at);
    at = end + 1;
    if (!line.starts_with(kKey)) continue;
    line.remove_prefix(kKey.size());
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    // "12345678 kB": the kernel always counts in kibibytes here.
    if (!line.ends_with(" kB")) return std::nullopt;
    line.remove_suffix(3);
    const auto kib = ParseNumber(line);
    if (!kib) return std::nullopt;
    return *kib * 1024;
  }
  return std::nullopt;
}

std::optional<uint64_t> CgroupMemoryLeft(std::string_view max, std::string_view current) {
  const auto limit = ParseNumber(max);  // "max" (no limit) does not parse
  const auto used = ParseNumber(current);
  if (!limit || !used) return std::nullopt;
  return *used >= *limit ? 0 : *limit - *used;
}

std::optional<uint64_t> AvailableMemory(const std::filesystem::path& root) {
  std::optional<uint64_t> host;
  if (auto meminfo = ReadSmallFile(root / "proc/meminfo")) host = ParseMemAvailable(*meminfo);
  std::optional<uint64_t> cgroup;
  auto max = ReadSmallFile(root / "sys/fs/cgroup/memory.max");
  auto current = ReadSmallFile(root / "sys/fs/cgroup/memory.current");
  if (max && current) cgroup = CgroupMemoryLeft(*max, *current);
  if (host && cgroup) return std::min(*host, *cgroup);
  return host ? host : cgroup;
}

}  // namespace tempo
