// Our AWS client, and the S3 store built on it, against moto_server with signature checking
// on (moto recomputes every SigV4 signature with botocore and answers SignatureDoesNotMatch
// when ours differs), and what it did read back with boto3, AWS's own SDK, not with our client.

#include "support/moto.hpp"

#include "tempo/aws/client.hpp"
#include "tempo/aws/s3.hpp"
#include "tempo/aws/sigv4.hpp"
#include "tempo/aws/xml.hpp"
#include "tempo/base/digest.hpp"
#include "tempo/base/strings.hpp"
#include "tempo/storage/object_store.hpp"
#include "tempo/storage/s3_store.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace tempo::aws {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using test_support::Boto3;
using test_support::MakeClient;
using test_support::MakeOptions;
using test_support::MotoTest;
using test_support::RunPython;

// botocore's own signer, at a fixed time, for requests moto cannot judge.
TEST(Botocore, SignsAwkwardRequestsAsWeDo) {
  const json theirs = RunPython(R"(
import datetime, json
import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
botocore.auth.get_current_datetime = lambda *a, **k: datetime.datetime(2026, 12, 3, 12, 0, 0)
creds = Credentials('AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', 'session/token+=')
out = {}
r = AWSRequest(method='PUT', url='http://127.0.0.1:5123/bkt/calls/a%20%281%29%2B%C3%BC.json',
               data=b'{"x":1}', headers={'Content-Type': 'application/json'})
botocore.auth.S3SigV4Auth(creds, 's3', 'eu-west-1').add_auth(r)
out['s3_put'] = r.headers['Authorization']
r = AWSRequest(method='GET', url='http://127.0.0.1:5123/bkt?list-type=2&prefix=calls%2Fa%20b')
botocore.auth.S3SigV4Auth(creds, 's3', 'eu-west-1').add_auth(r)
out['s3_list'] = r.headers['Authorization']
r = AWSRequest(method='POST', url='https://ecs.eu-west-1.amazonaws.com/', data=b'{"cluster":"c"}',
               headers={'Content-Type': 'application/x-amz-json-1.1',
                        'X-Amz-Target': 'AmazonEC2ContainerServiceV20141113.DescribeServices'})
botocore.auth.SigV4Auth(creds, 'ecs', 'eu-west-1').add_auth(r)
out['ecs'] = r.headers['Authorization']
r = AWSRequest(method='GET', url='http://127.0.0.1:5123/bkt/calls/CA1/recording.wav')
botocore.auth.S3SigV4QueryAuth(creds, 's3', 'eu-west-1', expires=300).add_auth(r)
out['presigned'] = r.url
print(json.dumps(out))
)");
  ASSERT_TRUE(theirs.is_object());
  Credentials c;
  c.access_key_id = "AKIDEXAMPLE";
  c.secret_access_key = AwsSecretKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
  c.session_token = AwsSessionToken("session/token+=");
  SigningOptions s3;
  s3.region = "eu-west-1";
  s3.service = "s3";
  s3.time = std::chrono::system_clock::time_point{} + std::chrono::seconds(1796299200);
  s3.path_encoding = PathEncoding::kAsSent;
  s3.normalize_path = false;
  s3.content_sha256_header = true;
  const auto authorization = [](const SignableRequest& r) {
    for (const auto& [name, value] : r.headers) {
      if (name == "Authorization") return value;
    }
    return std::string();
  };

  SignableRequest put;
  put.method = "PUT";
  put.path = "/bkt/" + PercentEncode("calls/a (1)+ü.json", SpaceAs::kPercent20, true);
  EXPECT_EQ(put.path, "/bkt/calls/a%20%281%29%2B%C3%BC.json");
  put.headers = {{"Host", "127.0.0.1:5123"}, {"Content-Type", "application/json"}};
  put.payload_hash = Sha256Hex(R"({"x":1})");
  ASSERT_TRUE(SignRequest(put, c, s3));
  EXPECT_EQ(authorization(put), theirs["s3_put"]);

  SignableRequest list;
  list.method = "GET";
  list.path = "/bkt";
  list.query = "list-type=2&prefix=calls%2Fa%20b";
  list.headers = {{"Host", "127.0.0.1:5123"}};
  ASSERT_TRUE(SignRequest(list, c, s3));
  EXPECT_EQ(authorization(list), theirs["s3_list"]);

  SigningOptions ecs = s3;
  ecs.service = "ecs";
  ecs.path_encoding = PathEncoding::kDoubleEncode;
  ecs.normalize_path = true;
  ecs.content_sha256_header = false;
  SignableRequest describe;
  describe.method = "POST";
  describe.path = "/";
  describe.headers = {{"Host", "ecs.eu-west-1.amazonaws.com"},
                      {"Content-Type", "application/x-amz-json-1.1"},
                      {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeServices"}};
  describe.payload_hash = Sha256Hex(R"({"cluster":"c"})");
  ASSERT_TRUE(SignRequest(describe, c, ecs));
  EXPECT_EQ(authorization(describe), theirs["ecs"]);

  SignableRequest get;
  get.method = "GET";
  get.path = "/bkt/calls/CA1/recording.wav";
  get.headers = {{"Host", "127.0.0.1:5123"}};
  get.payload_hash = std::string(kUnsignedPayload);
  SigningOptions presign = s3;
  presign.content_sha256_header = false;
  presign.expires = std::chrono::seconds(300);
  ASSERT_TRUE(PresignRequest(get, c, presign));
  const std::string url = theirs["presigned"];
  const std::string their_signature = url.substr(url.find("X-Amz-Signature=") + 16, 64);
  const std::string our_signature = get.query.substr(get.query.find("X-Amz-Signature=") + 16);
  EXPECT_EQ(our_signature, their_signature) << url << "\n" << get.query;
}

TEST_F(MotoTest, SignedCallsOfEveryProtocolAndBoto3ReadsThemBack) {
  Client aws = MakeClient(moto, key, secret);

  // Query (STS): who we are.
  auto identity = aws.CallQuery(services::kSts, "GetCallerIdentity", {});
  ASSERT_TRUE(identity) << identity.error().ToError("sts").ToString();
  EXPECT_NE(identity->find("user/tempo-test"), std::string::npos) << *identity;

  // JSON 1.1 (ECS, Logs, Secrets Manager).
  auto cluster = aws.CallJson(services::kEcs, "CreateCluster", {{"clusterName", "tempo-agents"}});
  ASSERT_TRUE(cluster) << cluster.error().ToError("ecs").ToString();
  ASSERT_TRUE(
      aws.CallJson(services::kLogs, "CreateLogGroup", {{"logGroupName", "/ecs/tempo-agents"}}));
  auto secret_out = aws.CallJson(services::kSecretsManager, "CreateSecret",
                                 {{"Name", "tempo/agent/a1"}, {"SecretString", "token"}});
  ASSERT_TRUE(secret_out) << secret_out.error().ToError("secretsmanager").ToString();

  // REST-XML (S3): a bucket outside us-east-1 (signed body), an object whose key needs
  // encoding, read back, and listed. (moto 5.2.1 rebuilds the path of keys with sub-delims
  // or non-ASCII bytes differently and refuses boto3's own signature for them; those keys
  // are checked against botocore's signer directly below.)
  S3Request create;
  create.method = net::Method::kPut;
  create.bucket = "tempo-agent-transcripts-a1";
  create.body =
      "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
      "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
  auto created = aws.CallS3(create);
  ASSERT_TRUE(created) << created.error().ToError("s3").ToString();
  S3Request put;
  put.method = net::Method::kPut;
  put.bucket = "tempo-agent-transcripts-a1";
  put.key = "calls/CA0123/transcript file.json";
  put.headers.Set("Content-Type", "application/json");
  put.body = R"({"turns":[]})";
  auto put_out = aws.CallS3(put);
  ASSERT_TRUE(put_out) << put_out.error().ToError("s3").ToString();
  S3Request get;
  get.bucket = put.bucket;
  get.key = put.key;
  auto got = aws.CallS3(get);
  ASSERT_TRUE(got) << got.error().ToError("s3").ToString();
  EXPECT_EQ(got->body, put.body);
  S3Request list;
  list.bucket = put.bucket;
  list.query = "list-type=2&prefix=calls";  // moto refuses boto3 too for an encoded "/"
  auto listed = aws.CallS3(list);
  ASSERT_TRUE(listed) << listed.error().ToError("s3").ToString();
  EXPECT_NE(listed->body.find("<Key>calls/CA0123/transcript file.json"), std::string::npos)
      << listed->body;

  // (moto's signature check does not read presigned URLs: it fails on the missing
  // Authorization header. Presigning is checked against botocore's signer above.)

  // A missing object is a clear NotFound with S3's code.
  S3Request missing = get;
  missing.key = "calls/none.json";
  auto not_there = aws.CallS3(missing);
  ASSERT_FALSE(not_there);
  EXPECT_EQ(not_there.error().code, "NoSuchKey");
  EXPECT_EQ(not_there.error().kind, ErrorCode::kNotFound);

  // Issue #24: HeadObject answers at once (a HEAD answer has no body to wait for): present,
  // and a missing key is NotFound with no retry.
  S3Request head = get;
  head.method = net::Method::kHead;
  auto there = aws.CallS3(head);
  ASSERT_TRUE(there) << there.error().ToError("s3").ToString();
  EXPECT_EQ(there->headers.Find("Content-Length").value_or(""), std::to_string(put.body.size()));
  head.key = "calls/none.json";
  const uint64_t sent_before = aws.stats().requests;
  auto head_missing = aws.CallS3(head);
  ASSERT_FALSE(head_missing);
  EXPECT_EQ(head_missing.error().status, 404);
  EXPECT_EQ(head_missing.error().kind, ErrorCode::kNotFound);
  EXPECT_EQ(aws.stats().requests, sent_before + 1);

  // A 12 MiB object (a long call's recording) is read whole: over the 8 MiB of other answers.
  S3Request big = put;
  big.key = "calls/CA0123/recording.wav";
  big.body.assign(12 * 1024 * 1024, '\0');
  for (size_t i = 0; i < big.body.size(); i += 4096) big.body[i] = static_cast<char>(i >> 12);
  ASSERT_TRUE(aws.CallS3(big));
  S3Request get_big = get;
  get_big.key = big.key;
  auto got_big = aws.CallS3(get_big);
  ASSERT_TRUE(got_big) << got_big.error().ToError("s3").ToString();
  EXPECT_TRUE(got_big->body == big.body);

  // A wrong secret: moto's signature check refuses it, and we say so clearly.
  Client wrong = MakeClient(moto, key, secret + "x");
  auto refused = wrong.CallJson(services::kEcs, "ListClusters", json::object());
  ASSERT_FALSE(refused);
  EXPECT_EQ(wrong.stats().requests, 1U) << "a wrong key is said at once, not retried";
  EXPECT_EQ(refused.error().code, "SignatureDoesNotMatch")
      << refused.error().ToError("ecs").ToString();
  EXPECT_EQ(refused.error().kind, ErrorCode::kUnauthenticated);
  S3Request wrong_get = get;
  auto refused_s3 = wrong.CallS3(wrong_get);
  ASSERT_FALSE(refused_s3);
  EXPECT_EQ(refused_s3.error().code, "SignatureDoesNotMatch");

  // boto3 sees what we made.
  const json seen = Boto3(moto, key, secret, R"(
s3 = client('s3')
obj = s3.get_object(Bucket='tempo-agent-transcripts-a1', Key='calls/CA0123/transcript file.json')
loc = s3.get_bucket_location(Bucket='tempo-agent-transcripts-a1')['LocationConstraint']
ecs = client('ecs').describe_clusters(clusters=['tempo-agents'])['clusters']
logs = client('logs').describe_log_groups(logGroupNamePrefix='/ecs/')['logGroups']
sec = client('secretsmanager').get_secret_value(SecretId='tempo/agent/a1')['SecretString']
print(json.dumps({'body': obj['Body'].read().decode(), 'type': obj['ContentType'],
                  'location': loc, 'clusters': [c['clusterName'] for c in ecs],
                  'logs': [g['logGroupName'] for g in logs], 'secret': sec}))
)");
  ASSERT_TRUE(seen.is_object()) << seen;
  EXPECT_EQ(seen["body"], put.body);
  EXPECT_EQ(seen["type"], "application/json");
  EXPECT_EQ(seen["location"], "eu-west-1");
  EXPECT_EQ(seen["clusters"], json::array({"tempo-agents"}));
  EXPECT_EQ(seen["logs"], json::array({"/ecs/tempo-agents"}));
  EXPECT_EQ(seen["secret"], "token");
}

// Issue #24: S3's object operations as the S3 store uses them, read back with boto3.
TEST_F(MotoTest, S3ObjectsListsAndMultipartUploadsThatNeverLeaveAnUploadOpen) {
  Client client = MakeClient(moto, key, secret);
  S3 s3(client);
  const std::string bucket = "tempo-agent-transcripts-mp";
  ASSERT_TRUE(s3.CreateBucket(bucket));
  ASSERT_TRUE(s3.CreateBucket(bucket)) << "a bucket we own already is fine";

  // PutObject carries Content-MD5; its ETag is the MD5 of what arrived.
  auto etag = s3.PutObject(bucket, "calls/CA1/metadata.json", R"({"outcome":"completed"})",
                           "application/json");
  ASSERT_TRUE(etag) << etag.error().ToError("s3").ToString();
  // Five keys listed two to a page: three pages, followed by their continuation tokens.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(s3.PutObject(bucket, fmt::format("logs{}.txt", i), "x", "text/plain"));
  }
  auto head = s3.HeadObject(bucket, "calls/CA1/metadata.json");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->size, 23U);
  EXPECT_EQ(head->etag, *etag);
  auto listed = s3.ListKeys(bucket, "logs", /*max_keys=*/2);
  ASSERT_TRUE(listed) << listed.error().ToError("s3").ToString();
  EXPECT_EQ(listed->size(), 5U);

  // A 12 MiB file in 5 MiB parts: three parts, S3's "-3" ETag.
  char path[] = "/tmp/tempo-multipart-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string bytes(12 * 1024 * 1024, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 7919) >> 8);
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
  auto multipart =
      s3.PutFileMultipart(bucket, "calls/CA1/recording.wav", path, kS3MinPartSize, "audio/wav");
  ASSERT_TRUE(multipart) << multipart.error().ToError("s3").ToString();
  EXPECT_TRUE(multipart->ends_with("-3")) << *multipart;
  // A player seeking: a ranged GET of bytes in the second part.
  auto range = s3.GetObjectRange(bucket, "calls/CA1/recording.wav", 6 * 1024 * 1024, 100);
  ASSERT_TRUE(range) << range.error().ToError("s3").ToString();
  EXPECT_EQ(*range, bytes.substr(6 * 1024 * 1024, 100));

  // An upload that fails midway (the network drops the second part) is aborted.
  ClientOptions failing = MakeOptions(moto, key, secret);
  int parts = 0;
  failing.fetch = [real = failing.fetch, &parts](net::ClientRequest request) {
    if (request.method == net::Method::kPut && ++parts == 2) {
      return Result<net::Response>(InvalidArgument("injected: the second part is lost"));
    }
    return real(std::move(request));
  };
  Client failing_client(std::move(failing));
  auto broken =
      S3(failing_client)
          .PutFileMultipart(bucket, "calls/CA2/recording.wav", path, kS3MinPartSize, "audio/wav");
  EXPECT_FALSE(broken);
  EXPECT_EQ(parts, 2);
  unlink(path);
  const json seen = Boto3(moto, key, secret, R"(
s3 = client('s3')
import hashlib
head = s3.head_object(Bucket='tempo-agent-transcripts-mp', Key='calls/CA1/recording.wav')
body = s3.get_object(Bucket='tempo-agent-transcripts-mp', Key='calls/CA1/recording.wav')['Body'].read()
meta = s3.get_object(Bucket='tempo-agent-transcripts-mp', Key='calls/CA1/metadata.json')
uploads = s3.list_multipart_uploads(Bucket='tempo-agent-transcripts-mp').get('Uploads', [])
print(json.dumps({'etag': head['ETag'], 'size': len(body), 'sha': hashlib.sha256(body).hexdigest(),
                  'meta_etag': meta['ETag'].strip('"'),
                  'meta_md5': hashlib.md5(meta['Body'].read()).hexdigest(),
                  'uploads': len(uploads)}))
)");
  ASSERT_TRUE(seen.is_object()) << seen;
  EXPECT_TRUE(seen["etag"].get<std::string>().ends_with("-3\"")) << seen;
  EXPECT_EQ(seen["size"], bytes.size());
  EXPECT_EQ(seen["sha"], Sha256Hex(bytes));
  EXPECT_EQ(seen["meta_etag"], seen["meta_md5"]);
  EXPECT_EQ(seen["uploads"], 0);
}

// Issue #24: `serve --object-store s3 --s3-multipart-threshold-mib 5`: a recording above the
// threshold goes up in parts, one below in one PUT, and S3 holds byte for byte what the fs
// store writes for the same files.
TEST_F(MotoTest, S3StoreSendsLargeFilesInPartsAndStoresWhatTheFsStoreWrites) {
  storage::S3StoreOptions options;
  options.region = "eu-west-1";
  options.endpoint = moto.url();
  options.multipart_threshold = kS3MinPartSize;
  options.part_size = kS3MinPartSize;
  Credentials credentials;
  credentials.access_key_id = key;
  credentials.secret_access_key = AwsSecretKey(secret);
  options.credentials = MakeStaticCredentials(credentials);
  auto s3 = storage::OpenS3Store(options);
  ASSERT_TRUE(s3) << s3.error().message;
  const auto dir =
      std::filesystem::temp_directory_path() / fmt::format("tempo-s3-store-{}", ::getpid());
  std::filesystem::create_directories(dir / "spool");
  auto fs = storage::OpenFsStore(dir / "objects");
  ASSERT_TRUE(fs) << fs.error().message;

  // Two recordings, either side of the threshold, and a transcript with non-ASCII text.
  auto bytes = [](size_t n, unsigned seed) {
    std::string b(n, '\0');
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<char>(((i + seed) * 7919) >> 7);
    return b;
  };
  const std::string large = bytes(kS3MinPartSize * 2 + 12345, 1);
  const std::string small = bytes(kS3MinPartSize - 1, 2);
  const std::string transcript = R"({"turns":[{"text":"Grüß Gott — ¿qué tal? 👋"}]})";
  const std::string bucket = "tempo-agent-transcripts-store";
  for (auto* store : {s3->get(), fs->get()}) {
    ASSERT_TRUE(store->EnsureBucket(bucket));
    for (const auto& [name, content] : {std::pair{"large.wav", &large}, {"small.wav", &small}}) {
      const auto file = dir / "spool" / name;  // PutFile consumes the file
      std::ofstream(file, std::ios::binary) << *content;
      auto put = store->PutFile(bucket, std::string("calls/CA1/") + name, file);
      ASSERT_TRUE(put) << name << ": " << put.error().message;
    }
    ASSERT_TRUE(store->Put(bucket, "calls/CA1/transcript.json", transcript));
  }

  const json seen = Boto3(moto, key, secret, R"(
import hashlib
s3 = client('s3')
out = {}
for name in ['large.wav', 'small.wav', 'transcript.json']:
    o = s3.get_object(Bucket='tempo-agent-transcripts-store', Key='calls/CA1/' + name)
    body = o['Body'].read()
    out[name] = {'etag': o['ETag'], 'sha': hashlib.sha256(body).hexdigest(), 'size': len(body)}
out['uploads'] = len(s3.list_multipart_uploads(Bucket='tempo-agent-transcripts-store').get('Uploads', []))
print(json.dumps(out))
)");
  ASSERT_TRUE(seen.is_object()) << seen;
  EXPECT_TRUE(seen["large.wav"]["etag"].get<std::string>().ends_with("-3\"")) << seen;
  EXPECT_EQ(seen["small.wav"]["etag"].get<std::string>().find('-'), std::string::npos) << seen;
  EXPECT_EQ(seen["uploads"], 0);
  for (const char* name : {"large.wav", "small.wav", "transcript.json"}) {
    std::ifstream in(dir / "objects" / bucket / "calls/CA1" / name, std::ios::binary);
    const std::string on_disk((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(seen[name]["size"], on_disk.size()) << name;
    EXPECT_EQ(seen[name]["sha"], Sha256Hex(on_disk)) << name << ": what the fs store wrote";
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tempo::aws
