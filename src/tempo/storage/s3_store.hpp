#pragma once

#include "tempo/storage/object_store.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace tempo::aws {
class CredentialProvider;
}

namespace tempo::storage {

/// Where the S3 store puts objects and how (serve --object-store s3).
struct S3StoreOptions {
  std::string region;    ///< empty: AWS_REGION, AWS_DEFAULT_REGION, the profile's region
  std::string endpoint;  ///< override (moto, a VPC endpoint); empty: AWS's regional endpoint
  /// Put in front of every bucket name ("acme-" → acme-tempo-agent-transcripts-{agentId}):
  /// S3 bucket names are global.
  std::string bucket_prefix;
  /// One bucket for every object (`tempovoice agent` on ECS: S3_BUCKET_NAME, made by the
  /// deployer); the store then never creates buckets.
  std::string bucket;
  /// Files from this size up go in parts of `part_size` (both at least 5 MiB, S3's minimum).
  uint64_t multipart_threshold = uint64_t{8} * 1024 * 1024;
  uint64_t part_size = uint64_t{8} * 1024 * 1024;
  /// Empty: the AWS SDKs' default chain (environment, profile, ECS task role, EC2).
  std::shared_ptr<aws::CredentialProvider> credentials;
};

/// Objects in S3, in the same layout as the fs store. Every write carries Content-MD5; files
/// over the threshold go up in parts, and a failed multipart upload is aborted. LocalPath() is
/// always empty: readers get the bytes (or a presigned URL) instead.
Result<std::unique_ptr<ObjectStore>> OpenS3Store(S3StoreOptions options);

}  // namespace tempo::storage
