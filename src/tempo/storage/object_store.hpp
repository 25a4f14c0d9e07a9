#pragma once

#include "tempo/base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::storage {

/// Where call artefacts live: buckets of keyed objects, S3-shaped
/// (`tempo-agent-transcripts-{agentId}` / `calls/{callSid}/transcript.json`).
/// Calls are blocking (disk or network): never call from an I/O thread.
/// Implementations are thread-safe.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Result<void> EnsureBucket(std::string_view bucket) = 0;
  /// Writes an object atomically (readers see the old or the new content, never a mix).
  virtual Result<void> Put(std::string_view bucket, std::string_view key,
                           std::string_view data) = 0;
  /// Stores a local file as an object; the file may be moved (it is consumed).
  virtual Result<void> PutFile(std::string_view bucket, std::string_view key,
                               const std::filesystem::path& file) = 0;
  virtual Result<std::string> Get(std::string_view bucket, std::string_view key) = 0;
  virtual Result<bool> Exists(std::string_view bucket, std::string_view key) = 0;
  /// The object's size in bytes; kNotFound when it is absent.
  virtual Result<uint64_t> Size(std::string_view bucket, std::string_view key) = 0;
  /// `count` bytes from offset `first` (the range must lie within the object): a player
  /// seeking in a recording reads only what it plays.
  virtual Result<std::string> GetRange(std::string_view bucket, std::string_view key,
                                       uint64_t first, uint64_t count) = 0;
  /// Keys under `prefix`, sorted.
  virtual Result<std::vector<std::string>> List(std::string_view bucket,
                                                std::string_view prefix) = 0;
  /// A local path of the object when the backend has one (fs), for zero-copy serving.
  virtual std::optional<std::filesystem::path> LocalPath(std::string_view bucket,
                                                         std::string_view key) = 0;
};

/// Objects as files: `<root>/<bucket>/<key>`. Keys must be relative paths without "..".
Result<std::unique_ptr<ObjectStore>> OpenFsStore(const std::filesystem::path& root);

/// Rejects bucket names and keys that could escape the store or are not S3-compatible.
Result<void> ValidateBucket(std::string_view bucket);
Result<void> ValidateKey(std::string_view key);

/// Writes `data` to `path` atomically (temp file in the same folder, fsync, rename).
Result<void> WriteFileAtomic(const std::filesystem::path& path, std::string_view data);

}  // namespace tempo::storage
