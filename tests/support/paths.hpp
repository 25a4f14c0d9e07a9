#pragma once
// Where a test finds the checkout's data. ctest passes the folders in the environment rather
// than as compile definitions: an absolute path baked into a compile command differs between
// two clones, and would make ccache miss for every test file of a fresh clone.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace tempo::test_support {

inline std::filesystem::path EnvDir(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) +
                             " is not set: run the test through ctest, which sets it");
  }
  return value;
}

// tests/vectors/ of the checkout: the public test vectors (see its README).
inline std::filesystem::path TestVectors() { return EnvDir("TEMPO_TEST_VECTORS"); }

// A vector file's bytes, exactly; throws when it cannot be read (a test must not pass on an
// empty file it failed to open).
inline std::string ReadVector(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace tempo::test_support
