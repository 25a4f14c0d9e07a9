#include "tempo/base/log.hpp"
#include "tempo/storage/object_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace tempo::storage {
namespace fs = std::filesystem;

Result<void> ValidateBucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return InvalidArgument("bucket name must be 3-63 characters");
  for (const char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      return InvalidArgument(fmt::format("bucket name '{}' has a character S3 does not allow", b));
    }
  }
  return Ok();
}

Result<void> ValidateKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) return InvalidArgument("object key must be 1-1024 bytes");
  if (key.front() == '/') return InvalidArgument("object key must be relative");
  size_t start = 0;
  while (start <= key.size()) {
    const size_t end = std::min(key.find('/', start), key.size());
    const auto part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return InvalidArgument(fmt::format("object key '{}' has an empty, '.' or '..' segment", key));
    }
    start = end + 1;
  }
  if (key.find('\0') != std::string_view::npos) return InvalidArgument("object key has a NUL");
  return Ok();
}

Result<void> WriteFileAtomic(const fs::path& path, std::string_view data) {
  static std::atomic<uint64_t> counter{0};
  const fs::path tmp = path.parent_path() / fmt::format(".{}.tmp{}.{}", path.filename().string(),
                                                        getpid(), counter.fetch_add(1));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable(fmt::format("cannot create {}: {}", tmp.string(), errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unavailable(fmt::format("cannot write {}: errno {}", tmp.string(), errno));
    }
    done += static_cast<size_t>(n);
  }
  ::fdatasync(fd);
  ::close(fd);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Unavailable(fmt::format("cannot rename into {}: {}", path.string(), ec.message()));
  }
  return Ok();
}

namespace {

class FsStore final : public ObjectStore {
 public:
  explicit FsStore(fs::path root) : root_(std::move(root)) {}

  Result<void> EnsureBucket(std::string_view bucket) override {
    TEMPO_TRY(ValidateBucket(bucket));
    std::error_code ec;
    fs::create_directories(root_ / bucket, ec);
    if (ec) return Unavailable(fmt::format("cannot create bucket {}: {}", bucket, ec.message()));
    return Ok();
  }

  Result<void> Put(std::string_view bucket, std::string_view key, std::string_view data) override {
    TEMPO_ASSIGN_OR_RETURN(const fs::path path, PrepareWrite(bucket, key));
    return WriteFileAtomic(path, data);
  }

  Result<void> PutFile(std::string_view bucket, std::string_view key,
                       const fs::path& file) override {
    TEMPO_ASSIGN_OR_RETURN(const fs::path path, PrepareWrite(bucket, key));
    std::error_code ec;
    fs::rename(file, path, ec);
    if (ec) {  // another file system: copy, then remove the source
      fs::copy_file(file, path, fs::copy_options::overwrite_existing, ec);
      if (ec) return Unavailable(fmt::format("cannot store {}: {}", file.string(), ec.message()));
      fs::remove(file, ec);
    }
    return Ok();
  }

  Result<std::string> Get(std::string_view bucket, std::string_view key) override {
    TEMPO_TRY(ValidateBucket(bucket));
    TEMPO_TRY(ValidateKey(key));
    std::ifstream in(root_ / bucket / key, std::ios::binary);
    if (!in) return NotFound(fmt::format("no object {}/{}", bucket, key));
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Result<bool> Exists(std::string_view bucket, std::string_view key) override {
    TEMPO_TRY(ValidateBucket(bucket));
    TEMPO_TRY(ValidateKey(key));
    std::error_code ec;
    return fs::is_regular_file(root_ / bucket / key, ec);
  }

  Result<uint64_t> Size(std::string_view bucket, std::string_view key) override {
    TEMPO_TRY(ValidateBucket(bucket));
    TEMPO_TRY(ValidateKey(key));
    std::error_code ec;
    const auto size = fs::file_size(root_ / bucket / key, ec);
    if (ec) return NotFound(fmt::format("no object {}/{}", bucket, key));
    return static_cast<uint64_t>(size);
  }

  Result<std::string> GetRange(std::string_view bucket, std::string_view key, uint64_t first,
                               uint64_t count) override {
    TEMPO_TRY(ValidateBucket(bucket));
    TEMPO_TRY(ValidateKey(key));
    std::ifstream in(root_ / bucket / key, std::ios::binary);
    if (!in) return NotFound(fmt::format("no object {}/{}", bucket, key));
    std::string out(count, '\0');
    in.seekg(static_cast<std::streamoff>(first));
    in.read(out.data(), static_cast<std::streamsize>(count));
    if (static_cast<uint64_t>(in.gcount()) != count) {
      return InvalidArgument(
          fmt::format("{}/{}: bytes {}+{} are past its end", bucket, key, first, count));
    }
    return out;
  }

  Result<std::vector<std::string>> List(std::string_view bucket, std::string_view prefix) override {
    TEMPO_TRY(ValidateBucket(bucket));
    std::vector<std::string> keys;
    const fs::path base = root_ / bucket;
    std::error_code ec;
    if (!fs::is_directory(base, ec)) return keys;
    for (auto it = fs::recursive_directory_iterator(base, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      auto key = fs::relative(it->path(), base).generic_string();
      if (key.rfind(prefix, 0) == 0 && key.find("/.") == std::string::npos && key[0] != '.') {
        keys.push_back(std::move(key));
      }
    }
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  std::optional<fs::path> LocalPath(std::string_view bucket, std::string_view key) override {
    if (!ValidateBucket(bucket) || !ValidateKey(key)) return std::nullopt;
    return root_ / bucket / key;
  }

 private:
  Result<fs::path> PrepareWrite(std::string_view bucket, std::string_view key) {
    TEMPO_TRY(ValidateBucket(bucket));
    TEMPO_TRY(ValidateKey(key));
    fs::path path = root_ / bucket / key;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Unavailable(fmt::format("cannot create {}: {}", path.string(), ec.message()));
    return path;
  }

  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenFsStore(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Unavailable(fmt::format("cannot create {}: {}", root.string(), ec.message()));
  return std::unique_ptr<ObjectStore>(std::make_unique<FsStore>(root));
}

}  // namespace tempo::storage
