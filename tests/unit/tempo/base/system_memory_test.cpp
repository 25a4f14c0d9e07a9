#include "tempo/base/system_memory.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace tempo {
namespace {

constexpr std::string_view kMeminfo =
    "MemTotal:       24558700 kB\n"
    "MemFree:         1200000 kB\n"
    "MemAvailable:   20123456 kB\n"
    "Buffers:          123456 kB\n";

TEST(SystemMemoryTest, MemAvailableIsReadInBytes) {
  EXPECT_EQ(ParseMemAvailable(kMeminfo), uint64_t{20123456} * 1024);
  EXPECT_EQ(ParseMemAvailable("MemTotal: 10 kB\n"), std::nullopt);
  EXPECT_EQ(ParseMemAvailable("MemAvailable: lots\n"), std::nullopt);
  EXPECT_EQ(ParseMemAvailable("MemAvailable: 10 MB\n"), std::nullopt);
}

TEST(SystemMemoryTest, ACgroupLimitLeavesItsRoom) {
  EXPECT_EQ(CgroupMemoryLeft("1073741824\n", "268435456\n"), uint64_t{805306368});
  EXPECT_EQ(CgroupMemoryLeft("1000\n", "2000\n"), uint64_t{0});  // over its limit
  EXPECT_EQ(CgroupMemoryLeft("max\n", "268435456\n"), std::nullopt);
  EXPECT_EQ(CgroupMemoryLeft("", "1"), std::nullopt);
}

TEST(SystemMemoryTest, TheSmallerOfTheContainerAndTheHostWins) {
  const auto root =
      std::filesystem::temp_directory_path() / ("tempo-mem-" + std::to_string(getpid()));
  std::filesystem::create_directories(root / "proc");
  std::filesystem::create_directories(root / "sys/fs/cgroup");
  std::ofstream(root / "proc/meminfo") << kMeminfo;
  EXPECT_EQ(AvailableMemory(root), uint64_t{20123456} * 1024);  // no cgroup files: the host
  std::ofstream(root / "sys/fs/cgroup/memory.max") << "536870912\n";
  std::ofstream(root / "sys/fs/cgroup/memory.current") << "436870912\n";
  EXPECT_EQ(AvailableMemory(root), uint64_t{100000000});  // a 512 MiB task, 100 MB left
  std::ofstream(root / "sys/fs/cgroup/memory.max") << "max\n";
  EXPECT_EQ(AvailableMemory(root), uint64_t{20123456} * 1024);
  std::filesystem::remove_all(root);
  EXPECT_EQ(AvailableMemory(root), std::nullopt);
}

}  // namespace
}  // namespace tempo
