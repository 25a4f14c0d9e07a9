#include "tempo/storage/s3_store.hpp"

#include "tempo/aws/client.hpp"
#include "tempo/aws/credential_chain.hpp"
#include "tempo/aws/s3.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

namespace tempo::storage {
namespace {

std::string_view ContentType(std::string_view key) {
  if (key.ends_with(".json")) return "application/json";
  if (key.ends_with(".wav")) return "audio/wav";
  return "application/octet-stream";
}

class S3Store final : public ObjectStore {
 public:
  S3Store(S3StoreOptions options, aws::ClientOptions client_options)
      : options_(std::move(options)), client_(std::move(client_options)), s3_(client_) {}

  Result<void> EnsureBucket(std::string_view bucket) override {
    TEMPO_TRY(ValidateBucket(bucket));
    if (!options_.bucket.empty()) return Ok();  // made by the deployer
    const std::string name = Name(bucket);
    {
      std::lock_guard lock(mutex_);
      if (made_.contains(name)) return Ok();
    }
    if (auto made = s3_.CreateBucket(name); !made) {
      return made.error().ToError("s3 CreateBucket " + name);
    }
    std::lock_guard lock(mutex_);
    made_.insert(name);
    return Ok();
  }

  Result<void> Put(std::string_view bucket, std::string_view key, std::string_view data) override {
    TEMPO_TRY(Check(bucket, key));
    if (auto put = s3_.PutObject(Name(bucket), Key(bucket, key), data, ContentType(key)); !put) {
      return put.error().ToError(fmt::format("s3 PutObject {}", key));
    }
    return Ok();
  }

  Result<void> PutFile(std::string_view bucket, std::string_view key,
                       const std::filesystem::path& file) override {
    TEMPO_TRY(Check(bucket, key));
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(file, ec);
    if (ec) return NotFound(fmt::format("cannot read {}: {}", file.string(), ec.message()));
    if (size >= options_.multipart_threshold) {
      auto put = s3_.PutFileMultipart(Name(bucket), Key(bucket, key), file, options_.part_size,
                                      ContentType(key));
      if (!put) return put.error().ToError(fmt::format("s3 multipart upload {}", key));
    } else {
      std::ifstream in(file, std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      if (!in) return Unavailable(fmt::format("cannot read {}", file.string()));
      TEMPO_TRY(Put(bucket, key, bytes.str()));
    }
    std::filesystem::remove(file, ec);  // consumed, as the fs store moves it
    return Ok();
  }

  Result<std::string> Get(std::string_view bucket, std::string_view key) override {
    TEMPO_TRY(Check(bucket, key));
    auto got = s3_.GetObject(Name(bucket), Key(bucket, key));
    if (!got) return got.error().ToError(fmt::format("s3 GetObject {}", key));
    return std::move(*got);
  }

  Result<bool> Exists(std::string_view bucket, std::string_view key) override {
    TEMPO_TRY(Check(bucket, key));
    auto head = s3_.HeadObject(Name(bucket), Key(bucket, key));
    if (head) return true;
    if (head.error().kind == ErrorCode::kNotFound) return false;
    return head.error().ToError(fmt::format("s3 HeadObject {}", key));
  }

  Result<uint64_t> Size(std::string_view bucket, std::string_view key) override {
    TEMPO_TRY(Check(bucket, key));
    auto head = s3_.HeadObject(Name(bucket), Key(bucket, key));
    if (!head) return head.error().ToError(fmt::format("s3 HeadObject {}", key));
    return head->size;
  }

  Result<std::string> GetRange(std::string_view bucket, std::string_view key, uint64_t first,
                               uint64_t count) override {
    TEMPO_TRY(Check(bucket, key));
    if (count == 0) return std::string();
    auto got = s3_.GetObjectRange(Name(bucket), Key(bucket, key), first, count);
    if (!got) return got.error().ToError(fmt::format("s3 GetObject {} (range)", key));
    return std::move(*got);
  }

  Result<std::vector<std::string>> List(std::string_view bucket, std::string_view prefix) override {
    TEMPO_TRY(ValidateBucket(bucket));
    const std::string shared = SharedPrefix(bucket);
    auto keys = s3_.ListKeys(Name(bucket), shared + std::string(prefix));
    if (!keys) return keys.error().ToError(fmt::format("s3 ListObjectsV2 {}", prefix));
    for (auto& key : *keys) key.erase(0, shared.size());
    return std::move(*keys);
  }

  std::optional<std::filesystem::path> LocalPath(std::string_view, std::string_view) override {
    return std::nullopt;
  }

 private:
  static Result<void> Check(std::string_view bucket, std::string_view key) {
    TEMPO_TRY(ValidateBucket(bucket));
    return ValidateKey(key);
  }
  [[nodiscard]] std::string Name(std::string_view bucket) const {
    return options_.bucket.empty() ? options_.bucket_prefix + std::string(bucket) : options_.bucket;
  }
  // In one shared bucket each of our buckets is a folder, so nothing collides.
  [[nodiscard]] std::string SharedPrefix(std::string_view bucket) const {
    return options_.bucket.empty() ? std::string() : std::string(bucket) + "/";
  }
  [[nodiscard]] std::string Key(std::string_view bucket, std::string_view key) const {
    return SharedPrefix(bucket) + std::string(key);
  }

  S3StoreOptions options_;
  aws::Client client_;
  aws::S3 s3_;
  std::mutex mutex_;
  std::set<std::string> made_;
};

}  // namespace

Result<std::unique_ptr<ObjectStore>> OpenS3Store(S3StoreOptions options) {
  if (options.multipart_threshold < aws::kS3MinPartSize ||
      options.part_size < aws::kS3MinPartSize) {
    return InvalidArgument("the multipart threshold and part size must be at least 5 MiB");
  }
  aws::ChainOptions chain;
  aws::ClientOptions client;
  client.region = options.region.empty() ? aws::ResolveRegion(chain) : options.region;
  if (client.region.empty()) {
    return InvalidArgument(
        "the S3 store needs a region: set --s3-region, AWS_REGION or a profile's region");
  }
  client.credentials =
      options.credentials ? options.credentials : aws::MakeDefaultCredentialChain(chain);
  if (!options.endpoint.empty()) client.endpoints["s3"] = options.endpoint;
  return std::unique_ptr<ObjectStore>(
      std::make_unique<S3Store>(std::move(options), std::move(client)));
}

}  // namespace tempo::storage
