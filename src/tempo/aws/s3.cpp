#include "tempo/aws/s3.hpp"

#include "tempo/aws/xml.hpp"
#include "tempo/base/base64.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

namespace tempo::aws {
namespace {

std::string Unquoted(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

std::string ContentMd5(std::string_view body) {
  const Md5Digest digest = Md5(body);
  return base64::Encode(std::span<const uint8_t>(digest.data(), digest.size()));
}

// An answer whose status is 200 can still be an error: CompleteMultipartUpload reports a
// failure after it started answering in the body.
std::optional<AwsError> ErrorInBody(const net::Response& response) {
  if (response.body.find("<Error>") == std::string::npos) return std::nullopt;
  net::Response as_error = response;
  as_error.status = 500;
  return ParseAwsError(Protocol::kRestXml, as_error);
}

}  // namespace

AwsResult<void> S3::CreateBucket(std::string_view bucket) {
  S3Request request;
  request.method = net::Method::kPut;
  request.bucket = std::string(bucket);
  // us-east-1 is the default location and refuses to be named.
  if (client_.region() != "us-east-1") {
    request.body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        client_.region());
  }
  auto created = client_.CallS3(request);
  if (!created && created.error().code != "BucketAlreadyOwnedByYou") return created.error();
  return {};
}

AwsResult<void> S3::HeadBucket(std::string_view bucket) {
  S3Request request;
  request.method = net::Method::kHead;
  request.bucket = std::string(bucket);
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  return {};
}

AwsResult<void> S3::PutBucketConfig(std::string_view bucket, std::string_view subresource,
                                    std::string_view xml) {
  S3Request request;
  request.method = net::Method::kPut;
  request.bucket = std::string(bucket);
  request.query = std::string(subresource);
  request.headers.Set("Content-MD5", ContentMd5(xml));
  request.headers.Set("Content-Type", "application/xml");
  request.body = std::string(xml);
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  return {};
}

AwsResult<void> S3::DeleteBucket(std::string_view bucket) {
  S3Request request;
  request.method = net::Method::kDelete;
  request.bucket = std::string(bucket);
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  return {};
}

AwsResult<size_t> S3::EmptyBucket(std::string_view bucket) {
  size_t deleted = 0;
  // Each pass lists from the start what is left and deletes it: no markers to follow.
  for (int pass = 0; pass < 100'000; ++pass) {
    S3Request list;
    list.bucket = std::string(bucket);
    list.query = "max-keys=1000&versions";
    auto listed = client_.CallS3(list);
    if (!listed) return listed.error();
    auto doc = XmlDoc::Parse(listed->body);
    if (!doc) return MalformedAnswer("ListObjectVersions answered XML that does not parse");
    std::string body =
        R"(<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>)";
    size_t count = 0;
    for (const auto& node : doc->Root().children()) {
      const std::string_view name = node.name();
      if (name != "Version" && name != "DeleteMarker") continue;
      body += "<Object><Key>";
      AppendXmlEscaped(ChildText(node, "Key").value_or(""), body);
      body += "</Key><VersionId>";
      AppendXmlEscaped(ChildText(node, "VersionId").value_or("null"), body);
      body += "</VersionId></Object>";
      ++count;
    }
    if (count == 0) return AwsResult<size_t>(boost::system::in_place_value, deleted);
    body += "</Delete>";
    S3Request remove;
    remove.method = net::Method::kPost;
    remove.bucket = std::string(bucket);
    remove.query = "delete";
    remove.headers.Set("Content-MD5", ContentMd5(body));
    remove.headers.Set("Content-Type", "application/xml");
    remove.body = std::move(body);
    auto removed = client_.CallS3(remove);
    if (!removed) return removed.error();
    if (auto failed = ErrorInBody(*removed)) return *failed;
    deleted += count;
  }
  return MalformedAnswer("ListObjectVersions kept listing versions that DeleteObjects deleted");
}

AwsResult<S3Object> S3::HeadObject(std::string_view bucket, std::string_view key) {
  S3Request request;
  request.method = net::Method::kHead;
  request.bucket = std::string(bucket);
  request.key = std::string(key);
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  S3Object object;
  object.etag = Unquoted(response->headers.Find("ETag").value_or(""));
  const std::string length(response->headers.Find("Content-Length").value_or("0"));
  object.size = std::strtoull(length.c_str(), nullptr, 10);
  return object;
}

AwsResult<std::string> S3::GetObject(std::string_view bucket, std::string_view key) {
  S3Request request;
  request.bucket = std::string(bucket);
  request.key = std::string(key);
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  return std::move(response->body);
}

AwsResult<std::string> S3::GetObjectRange(std::string_view bucket, std::string_view key,
                                          uint64_t first, uint64_t count) {
  S3Request request;
  request.bucket = std::string(bucket);
  request.key = std::string(key);
  request.headers.Set("Range", fmt::format("bytes={}-{}", first, first + count - 1));
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  if (response->body.size() != count) {
    return MalformedAnswer(
        fmt::format("asked for {} bytes, S3 answered {}", count, response->body.size()));
  }
  return std::move(response->body);
}

AwsResult<std::string> S3::PutObject(std::string_view bucket, std::string_view key,
                                     std::string_view body, std::string_view content_type) {
  S3Request request;
  request.method = net::Method::kPut;
  request.bucket = std::string(bucket);
  request.key = std::string(key);
  request.headers.Set("Content-MD5", ContentMd5(body));
  if (!content_type.empty()) request.headers.Set("Content-Type", std::string(content_type));
  request.body = std::string(body);
  auto response = client_.CallS3(request);
  if (!response) return response.error();
  return Unquoted(response->headers.Find("ETag").value_or(""));
}

AwsResult<std::vector<std::string>> S3::ListKeys(std::string_view bucket, std::string_view prefix,
                                                 int max_keys) {
  std::vector<std::string> keys;
  std::string token;
  for (;;) {
    S3Request request;
    request.bucket = std::string(bucket);
    request.query = fmt::format("list-type=2&max-keys={}", max_keys);
    if (!token.empty())
      request.query = "continuation-token=" + PercentEncode(token) + "&" + request.query;
    if (!prefix.empty()) request.query += "&prefix=" + PercentEncode(prefix);
    auto response = client_.CallS3(request);
    if (!response) return response.error();
    auto doc = XmlDoc::Parse(response->body);
    if (!doc) return MalformedAnswer("ListObjectsV2 answered XML that does not parse");
    for (auto node : doc->Root().children("Contents")) {
      if (auto key = ChildText(node, "Key")) keys.push_back(std::move(*key));
    }
    const bool truncated = ChildText(doc->Root(), "IsTruncated").value_or("false") == "true";
    token = ChildText(doc->Root(), "NextContinuationToken").value_or("");
    if (!truncated) break;
    if (token.empty())
      return MalformedAnswer("ListObjectsV2 was truncated without a continuation token");
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

AwsResult<void> S3::AbortMultipartUpload(std::string_view bucket, std::string_view key,
                                         std::string_view upload_id) {
  S3Request request;
  request.method = net::Method::kDelete;
  request.bucket = std::string(bucket);
  request.key = std::string(key);
  request.query = "uploadId=" + PercentEncode(upload_id);
  auto response = client_.CallS3(request);
  if (!response && response.error().code != "NoSuchUpload") return response.error();
  return {};
}

AwsResult<std::string> S3::PutFileMultipart(std::string_view bucket, std::string_view key,
                                            const std::filesystem::path& file, uint64_t part_size,
                                            std::string_view content_type) {
  part_size = std::max(part_size, kS3MinPartSize);
  std::ifstream in(file, std::ios::binary);
  if (!in) return TransportError(NotFound(fmt::format("cannot read {}", file.string())));

  S3Request create;
  create.method = net::Method::kPost;
  create.bucket = std::string(bucket);
  create.key = std::string(key);
  create.query = "uploads=";
  if (!content_type.empty()) create.headers.Set("Content-Type", std::string(content_type));
  auto created = client_.CallS3(create);
  if (!created) return created.error();
  auto created_doc = XmlDoc::Parse(created->body);
  const std::string upload_id =
      created_doc ? ChildText(created_doc->Root(), "UploadId").value_or("") : "";
  if (upload_id.empty()) return MalformedAnswer("CreateMultipartUpload answered no UploadId");

  // From here on, every way out that is not success aborts the upload.
  auto fail = [&](AwsError error) -> AwsError {
    (void)AbortMultipartUpload(bucket, key, upload_id);
    return error;
  };
  std::string complete =
      "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  std::string part(part_size, '\0');
  for (int number = 1;; ++number) {
    in.read(part.data(), static_cast<std::streamsize>(part.size()));
    const auto got = static_cast<size_t>(in.gcount());
    if (got == 0 && number > 1) break;
    S3Request upload;
    upload.method = net::Method::kPut;
    upload.bucket = std::string(bucket);
    upload.key = std::string(key);
    upload.query = fmt::format("partNumber={}&uploadId={}", number, PercentEncode(upload_id));
    upload.body.assign(part.data(), got);
    upload.headers.Set("Content-MD5", ContentMd5(upload.body));
    auto uploaded = client_.CallS3(upload);
    if (!uploaded) return fail(uploaded.error());
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", number,
                            uploaded->headers.Find("ETag").value_or(""));
    if (got < part.size()) break;
  }
  if (in.bad()) return fail(TransportError(Unavailable("reading " + file.string() + " failed")));
  complete += "</CompleteMultipartUpload>";

  S3Request finish;
  finish.method = net::Method::kPost;
  finish.bucket = std::string(bucket);
  finish.key = std::string(key);
  finish.query = "uploadId=" + PercentEncode(upload_id);
  finish.body = std::move(complete);
  auto finished = client_.CallS3(finish);
  if (!finished) return fail(finished.error());
  if (auto error = ErrorInBody(*finished)) return fail(*error);
  auto doc = XmlDoc::Parse(finished->body);
  return Unquoted(doc ? ChildText(doc->Root(), "ETag").value_or("") : "");
}

}  // namespace tempo::aws
