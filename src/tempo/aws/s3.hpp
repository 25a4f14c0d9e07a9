#pragma once

// S3's object operations on top of Client (REST-XML): what the object store and the deployer
// need. Blocking, like Client: run on a worker thread.

#include "tempo/aws/client.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tempo::aws {

struct S3Object {
  uint64_t size = 0;
  std::string etag;  ///< as S3 says it, quotes removed ("…-3" for a multipart upload)
};

/// S3's smallest part (except the last): an upload below it cannot be multipart.
inline constexpr uint64_t kS3MinPartSize = uint64_t{5} * 1024 * 1024;

class S3 {
 public:
  explicit S3(Client& client) : client_(client) {}

  /// Creates the bucket in the client's region; one that we already own is fine.
  AwsResult<void> CreateBucket(std::string_view bucket);
  /// Succeeds when the bucket exists and is ours to use; NotFound (404) when no bucket has
  /// the name, AccessDenied (403) when another account owns it.
  AwsResult<void> HeadBucket(std::string_view bucket);
  /// PUT of a bucket's configuration document (`subresource`: "versioning", "lifecycle",
  /// "publicAccessBlock", "encryption", "tagging"), with the Content-MD5 S3 requires for some
  /// of them. The same document again changes nothing.
  AwsResult<void> PutBucketConfig(std::string_view bucket, std::string_view subresource,
                                  std::string_view xml);
  /// Deletes an empty bucket.
  AwsResult<void> DeleteBucket(std::string_view bucket);
  /// Deletes every object version and delete marker of a (versioned) bucket, a page of
  /// ListObjectVersions at a time through DeleteObjects, so that it can be deleted. Returns
  /// how many were deleted.
  AwsResult<size_t> EmptyBucket(std::string_view bucket);
  /// NotFound (kind kNotFound, status 404) at once when the key is absent.
  AwsResult<S3Object> HeadObject(std::string_view bucket, std::string_view key);
  AwsResult<std::string> GetObject(std::string_view bucket, std::string_view key);
  /// `count` (> 0) bytes from `first` (a Range request, answered 206).
  AwsResult<std::string> GetObjectRange(std::string_view bucket, std::string_view key,
                                        uint64_t first, uint64_t count);
  /// One PUT with Content-MD5, so S3 refuses a body damaged on the way. Returns the ETag.
  AwsResult<std::string> PutObject(std::string_view bucket, std::string_view key,
                                   std::string_view body, std::string_view content_type);
  /// Every key under `prefix`, following ListObjectsV2's continuation tokens (`max_keys` a
  /// page); sorted.
  AwsResult<std::vector<std::string>> ListKeys(std::string_view bucket, std::string_view prefix,
                                               int max_keys = 1000);
  /// Uploads a file in parts of `part_size` (at least kS3MinPartSize): create, upload each
  /// part (each with Content-MD5), complete. Any failure aborts the upload, so no abandoned
  /// parts are left to be billed. Returns the ETag.
  AwsResult<std::string> PutFileMultipart(std::string_view bucket, std::string_view key,
                                          const std::filesystem::path& file, uint64_t part_size,
                                          std::string_view content_type);
  AwsResult<void> AbortMultipartUpload(std::string_view bucket, std::string_view key,
                                       std::string_view upload_id);

 private:
  Client& client_;
};

}  // namespace tempo::aws
