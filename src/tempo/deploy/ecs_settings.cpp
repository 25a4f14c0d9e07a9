#include "tempo/deploy/ecs_settings.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>

namespace tempo::deploy {
namespace {

using nlohmann::json;

const std::vector<EcsSettingField> kFields = {
    {"region", "AWS region of the shared infrastructure (eu-west-1)"},
    {"cluster_name", "ECS cluster (name or ARN)"},
    {"listener_arn", "ARN of the load balancer's listener the agents' rules go on"},
    {"vpc_id", "VPC of the agents' target groups (vpc-…)"},
    {"private_subnet_ids", "private subnets of the tasks (subnet-…)", true},
    {"task_security_group_ids", "security groups of the tasks (sg-…)", true},
    {"execution_role_arn", "IAM role ECS uses to pull the image and read secrets"},
    {"task_role_arn", "IAM role of the agent (Bedrock, S3)"},
    {"ecr_repository_name", "ECR repository of the agent image (tempo-voice-agents)"},
    {"image_tag", "the release's image tag, pinned to its digest at deploy time"},
    {"log_group_name", "CloudWatch log group (/ecs/tempo-agents)", false, true},
    {"public_url", "the load balancer's public base URL, for Twilio Voice URLs", false, true},
};

std::string* StringField(EcsSettings& s, std::string_view name) {
  if (name == "region") return &s.region;
  if (name == "cluster_name") return &s.cluster;
  if (name == "listener_arn") return &s.listener_arn;
  if (name == "vpc_id") return &s.vpc_id;
  if (name == "execution_role_arn") return &s.execution_role_arn;
  if (name == "task_role_arn") return &s.task_role_arn;
  if (name == "ecr_repository_name") return &s.image_repository;
  if (name == "image_tag") return &s.image_tag;
  if (name == "log_group_name") return &s.log_group;
  if (name == "public_url") return &s.public_url;
  return nullptr;
}

std::vector<std::string>* ListField(EcsSettings& s, std::string_view name) {
  if (name == "private_subnet_ids") return &s.private_subnets;
  if (name == "task_security_group_ids") return &s.security_groups;
  return nullptr;
}

bool AllOf(std::string_view s, bool (*ok)(char)) { return std::all_of(s.begin(), s.end(), ok); }
bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "vpc-0123abcd": a prefix and 8 or 17 hex digits.
bool IsResourceId(std::string_view s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  const auto hex = s.substr(prefix.size());
  return (hex.size() == 8 || hex.size() == 17) && AllOf(hex, IsHex);
}

// "eu-west-1", "us-gov-west-1", "ap-southeast-2".
bool IsRegion(std::string_view s) {
  const auto last = s.rfind('-');
  if (last == std::string_view::npos || last + 1 == s.size()) return false;
  if (!AllOf(s.substr(last + 1), IsDigit)) return false;
  const auto head = s.substr(0, last);
  return head.size() >= 4 && head.find('-') != std::string_view::npos &&
         std::all_of(head.begin(), head.end(),
                     [](char c) { return c == '-' || (c >= 'a' && c <= 'z'); });
}

// arn:<partition>:<service>:<region>:<account>:<resource>, with the resource starting with
// `resource_prefix`.
bool IsArn(std::string_view s, std::string_view service, std::string_view resource_prefix,
           bool regional) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    const auto colon = s.find(':', start);
    if (colon == std::string_view::npos) return false;
    parts.push_back(s.substr(start, colon - start));
    start = colon + 1;
  }
  const auto resource = s.substr(start);
  return parts[0] == "arn" && parts[1].starts_with("aws") && parts[2] == service &&
         (regional ? IsRegion(parts[3]) : parts[3].empty()) && parts[4].size() == 12 &&
         AllOf(parts[4], IsDigit) && resource.starts_with(resource_prefix) &&
         resource.size() > resource_prefix.size();
}

// ECR: (?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*, 2 to 256 characters.
bool IsRepositoryName(std::string_view s) {
  if (s.size() < 2 || s.size() > 256) return false;
  char previous = '/';
  for (const char c : s) {
    const bool separator = c == '.' || c == '_' || c == '-' || c == '/';
    if (!separator && !IsLowerAlnum(c)) return false;
    if (separator && !IsLowerAlnum(previous)) return false;
    previous = c;
  }
  return IsLowerAlnum(previous);
}

// Docker: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}. A tag, not "latest": a release is pinned.
bool IsImageTag(std::string_view s) {
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; };
  if (s.empty() || s.size() > 128 || !word(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return word(c) || c == '.' || c == '-'; });
}

bool IsClusterName(std::string_view s) {
  if (IsArn(s, "ecs", "cluster/", true)) return true;
  return !s.empty() && s.size() <= 255 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_';
  });
}

bool IsLogGroup(std::string_view s) {
  return !s.empty() && s.size() <= 512 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_' ||
           c == '/' || c == '#';
  });
}

Error Bad(std::string_view name, std::string_view value, std::string_view expected) {
  return InvalidArgument(
      fmt::format("ECS setting {}: '{}' is not {}", name, value.substr(0, 200), expected));
}

}  // namespace

const std::vector<EcsSettingField>& EcsSettingFields() { return kFields; }

Result<void> SetEcsSetting(EcsSettings& settings, std::string_view name, std::string_view value) {
  if (auto* field = StringField(settings, name)) {
    *field = std::string(value);
    return Ok();
  }
  if (auto* list = ListField(settings, name)) {
    list->clear();
    size_t start = 0;
    while (start <= value.size()) {
      auto comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      auto item = value.substr(start, comma - start);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (!item.empty()) list->emplace_back(item);
      start = comma + 1;
    }
    return Ok();
  }
  return InvalidArgument(fmt::format("unknown ECS setting '{}'", name.substr(0, 100)));
}

Result<EcsSettings> ParseEcsSettings(std::string_view json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return InvalidArgument("ECS settings: not a JSON object (expected `terraform output -json`)");
  }
  EcsSettings settings;
  for (const auto& field : kFields) {
    const auto it = doc.find(field.name);
    if (it == doc.end()) continue;
    // `terraform output -json` wraps each value: {"sensitive": false, "type": …, "value": …}.
    const json& value = it->is_object() && it->contains("value") ? (*it)["value"] : *it;
    if (field.list) {
      if (!value.is_array() ||
          !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
        return InvalidArgument(
            fmt::format("ECS setting {}: expected a list of strings", field.name));
      }
      auto& list = *ListField(settings, field.name);
      for (const auto& v : value) list.push_back(v.get<std::string>());
    } else {
      if (!value.is_string()) {
        return InvalidArgument(fmt::format("ECS setting {}: expected a string", field.name));
      }
      *StringField(settings, field.name) = value.get<std::string>();
    }
  }
  return settings;
}

Result<void> ValidateEcsSettings(const EcsSettings& s) {
  // Missing settings first, all of them in one message: the fix is one edit.
  std::vector<std::string_view> missing;
  EcsSettings copy = s;
  for (const auto& field : kFields) {
    if (field.optional) continue;
    const bool empty =
        field.list ? ListField(copy, field.name)->empty() : StringField(copy, field.name)->empty();
    if (empty) missing.push_back(field.name);
  }
  if (!missing.empty()) {
    return InvalidArgument(fmt::format(
        "ECS settings missing: {} (from `terraform output -json` of deploy/terraform, or "
        "--ecs-<setting> flags)",
        fmt::join(missing, ", ")));
  }
  if (!IsRegion(s.region)) return Bad("region", s.region, "an AWS region (eu-west-1)");
  if (!IsClusterName(s.cluster))
    return Bad("cluster_name", s.cluster, "an ECS cluster name or ARN");
  if (!IsArn(s.listener_arn, "elasticloadbalancing", "listener/app/", true)) {
    return Bad("listener_arn", s.listener_arn,
               "the ARN of an application load balancer's listener");
  }
  if (!IsResourceId(s.vpc_id, "vpc-")) return Bad("vpc_id", s.vpc_id, "a VPC id (vpc-…)");
  for (const auto& subnet : s.private_subnets) {
    if (!IsResourceId(subnet, "subnet-")) {
      return Bad("private_subnet_ids", subnet, "a subnet id (subnet-…)");
    }
  }
  for (const auto& group : s.security_groups) {
    if (!IsResourceId(group, "sg-")) {
      return Bad("task_security_group_ids", group, "a security group id (sg-…)");
    }
  }
  if (!IsArn(s.execution_role_arn, "iam", "role/", false)) {
    return Bad("execution_role_arn", s.execution_role_arn, "an IAM role ARN");
  }
  if (!IsArn(s.task_role_arn, "iam", "role/", false)) {
    return Bad("task_role_arn", s.task_role_arn, "an IAM role ARN");
  }
  if (!IsRepositoryName(s.image_repository)) {
    return Bad("ecr_repository_name", s.image_repository, "an ECR repository name");
  }
  if (!IsImageTag(s.image_tag) || s.image_tag == "latest") {
    return Bad("image_tag", s.image_tag,
               "an image tag of a release (\"latest\" moves: agents are pinned to one image)");
  }
  if (!IsLogGroup(s.log_group)) return Bad("log_group_name", s.log_group, "a log group name");
  if (!s.public_url.empty() && !s.public_url.starts_with("https://") &&
      !s.public_url.starts_with("http://")) {
    return Bad("public_url", s.public_url, "an http(s) URL");
  }
  return Ok();
}

}  // namespace tempo::deploy
