#pragma once

// How much memory a new call may still use: a container's cgroup limit (ECS tasks, Docker)
// binds before the host's free memory does, so both are read and the smaller wins.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string_view>

namespace tempo {

/// MemAvailable of /proc/meminfo text, in bytes; nullopt when the line is missing.
std::optional<uint64_t> ParseMemAvailable(std::string_view meminfo);

/// Bytes left under a cgroup v2 limit, from the texts of memory.max and memory.current;
/// nullopt when there is no limit ("max") or a text does not parse.
std::optional<uint64_t> CgroupMemoryLeft(std::string_view max, std::string_view current);

/// The least of the cgroup's room (`root`/sys/fs/cgroup) and the host's MemAvailable
/// (`root`/proc/meminfo); nullopt when neither can be read. Blocking (two small file reads).
std::optional<uint64_t> AvailableMemory(const std::filesystem::path& root = "/");

}  // namespace tempo
