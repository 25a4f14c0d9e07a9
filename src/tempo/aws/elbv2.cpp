#include "tempo/aws/elbv2.hpp"

#include "tempo/aws/xml.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tempo::aws {
namespace {

void AddTags(QueryParams& params, const std::vector<std::pair<std::string, std::string>>& tags) {
  int n = 0;
  for (const auto& [key, value] : tags) {
    ++n;
    params.emplace_back(fmt::format("Tags.member.{}.Key", n), key);
    params.emplace_back(fmt::format("Tags.member.{}.Value", n), value);
  }
}

AwsResult<XmlDoc> Parse(const AwsResult<std::string>& answer, std::string_view action) {
  if (!answer) return answer.error();
  auto doc = XmlDoc::Parse(*answer);
  if (!doc) return MalformedAnswer(fmt::format("{} answered XML that does not parse", action));
  return std::move(*doc);
}

TargetGroup ReadTargetGroup(const pugi::xml_node& member) {
  TargetGroup group;
  group.arn = ChildText(member, "TargetGroupArn").value_or("");
  group.name = ChildText(member, "TargetGroupName").value_or("");
  group.vpc_id = ChildText(member, "VpcId").value_or("");
  group.health_check_path = ChildText(member, "HealthCheckPath").value_or("");
  return group;
}

ListenerRule ReadRule(const pugi::xml_node& member) {
  ListenerRule rule;
  rule.arn = ChildText(member, "RuleArn").value_or("");
  rule.priority = ChildText(member, "Priority").value_or("");
  if (ChildText(member, "IsDefault").value_or("false") == "true") rule.priority = "default";
  for (const auto& condition : member.child("Conditions").children("member")) {
    if (ChildText(condition, "Field").value_or("") != "path-pattern") continue;
    // Either form: Values (the original) or PathPatternConfig.Values.
    for (const pugi::xml_node values :
         {condition.child("Values"), condition.child("PathPatternConfig").child("Values")}) {
      for (const auto& value : values.children("member")) {
        const std::string text = value.child_value();
        if (std::find(rule.path_patterns.begin(), rule.path_patterns.end(), text) ==
            rule.path_patterns.end()) {
          rule.path_patterns.push_back(text);
        }
      }
    }
  }
  for (const auto& action : member.child("Actions").children("member")) {
    if (ChildText(action, "Type").value_or("") != "forward") continue;
    if (auto arn = ChildText(action, "TargetGroupArn"); arn && !arn->empty()) {
      rule.target_group_arns.push_back(*arn);
    }
  }
  return rule;
}

// The health check of an agent's target group, as CreateTargetGroup and ModifyTargetGroup
// take it.
void AddHealthCheck(QueryParams& params, const TargetGroupSpec& spec) {
  params.insert(params.end(),
                {{"HealthCheckProtocol", "HTTP"},
                 {"HealthCheckPath", spec.health_check_path},
                 {"HealthCheckIntervalSeconds", std::to_string(spec.health_check_interval_seconds)},
                 {"HealthyThresholdCount", std::to_string(spec.healthy_threshold)},
                 {"UnhealthyThresholdCount", std::to_string(spec.unhealthy_threshold)},
                 {"Matcher.HttpCode", "200"}});
}

QueryParams ForwardByPath(std::string_view path_pattern, std::string_view target_group_arn) {
  return {{"Conditions.member.1.Field", "path-pattern"},
          {"Conditions.member.1.PathPatternConfig.Values.member.1", std::string(path_pattern)},
          {"Actions.member.1.Type", "forward"},
          {"Actions.member.1.TargetGroupArn", std::string(target_group_arn)}};
}

}  // namespace

AwsResult<std::optional<TargetGroup>> Elbv2::FindTargetGroup(std::string_view name) {
  auto answer = client_.CallQuery(services::kElbv2, "DescribeTargetGroups",
                                  {{"Names.member.1", std::string(name)}});
  if (!answer && answer.error().code == "TargetGroupNotFound") {
    return std::optional<TargetGroup>();
  }
  auto doc = Parse(answer, "DescribeTargetGroups");
  if (!doc) return doc.error();
  const auto member = doc->Root().select_node("//TargetGroups/member").node();
  if (!member) return std::optional<TargetGroup>();
  return std::optional<TargetGroup>(ReadTargetGroup(member));
}

AwsResult<TargetGroup> Elbv2::CreateTargetGroup(const TargetGroupSpec& spec) {
  QueryParams params = {
      {"Name", spec.name},          {"Protocol", "HTTP"},
      {"ProtocolVersion", "HTTP1"}, {"Port", std::to_string(spec.port)},
      {"VpcId", spec.vpc_id},       {"TargetType", "ip"},
  };
  AddHealthCheck(params, spec);
  AddTags(params, spec.tags);
  auto doc =
      Parse(client_.CallQuery(services::kElbv2, "CreateTargetGroup", params), "CreateTargetGroup");
  if (!doc) return doc.error();
  const auto member = doc->Root().select_node("//TargetGroups/member").node();
  TargetGroup group = ReadTargetGroup(member);
  if (group.arn.empty()) return MalformedAnswer("CreateTargetGroup answered no TargetGroupArn");
  return group;
}

AwsResult<void> Elbv2::ConvergeTargetGroup(std::string_view arn, const TargetGroupSpec& spec) {
  QueryParams health = {{"TargetGroupArn", std::string(arn)}};
  AddHealthCheck(health, spec);
  auto modified = client_.CallQuery(services::kElbv2, "ModifyTargetGroup", health);
  if (!modified) return modified.error();
  auto attributes = client_.CallQuery(
      services::kElbv2, "ModifyTargetGroupAttributes",
      {{"TargetGroupArn", std::string(arn)},
       {"Attributes.member.1.Key", "deregistration_delay.timeout_seconds"},
       {"Attributes.member.1.Value", std::to_string(spec.deregistration_delay_seconds)}});
  if (!attributes) return attributes.error();
  return {};
}

AwsResult<void> Elbv2::DeleteTargetGroup(std::string_view arn) {
  auto deleted = client_.CallQuery(services::kElbv2, "DeleteTargetGroup",
                                   {{"TargetGroupArn", std::string(arn)}});
  if (!deleted) return deleted.error();
  return {};
}

AwsResult<std::vector<TargetHealth>> Elbv2::DescribeTargetHealth(
    std::string_view target_group_arn) {
  auto doc = Parse(client_.CallQuery(services::kElbv2, "DescribeTargetHealth",
                                     {{"TargetGroupArn", std::string(target_group_arn)}}),
                   "DescribeTargetHealth");
  if (!doc) return doc.error();
  std::vector<TargetHealth> out;
  for (const auto& found : doc->Root().select_nodes("//TargetHealthDescriptions/member")) {
    const auto member = found.node();
    TargetHealth health;
    health.id = ChildText(member.child("Target"), "Id").value_or("");
    health.state = ChildText(member.child("TargetHealth"), "State").value_or("");
    health.reason = ChildText(member.child("TargetHealth"), "Reason").value_or("");
    out.push_back(std::move(health));
  }
  return out;
}

AwsResult<std::vector<ListenerRule>> Elbv2::DescribeRules(std::string_view listener_arn) {
  std::vector<ListenerRule> rules;
  std::string marker;
  for (int page = 0; page < 100; ++page) {
    QueryParams params = {{"ListenerArn", std::string(listener_arn)}, {"PageSize", "400"}};
    if (!marker.empty()) params.emplace_back("Marker", marker);
    auto doc = Parse(client_.CallQuery(services::kElbv2, "DescribeRules", params), "DescribeRules");
    if (!doc) return doc.error();
    for (const auto& found : doc->Root().select_nodes("//Rules/member")) {
      rules.push_back(ReadRule(found.node()));
    }
    marker = doc->Text("//NextMarker").value_or("");
    if (marker.empty()) return rules;
  }
  return MalformedAnswer("DescribeRules kept answering more pages");
}

AwsResult<ListenerRule> Elbv2::CreateRule(
    std::string_view listener_arn, int priority, std::string_view path_pattern,
    std::string_view target_group_arn,
    const std::vector<std::pair<std::string, std::string>>& tags) {
  QueryParams params = ForwardByPath(path_pattern, target_group_arn);
  params.emplace_back("ListenerArn", std::string(listener_arn));
  params.emplace_back("Priority", std::to_string(priority));
  AddTags(params, tags);
  auto doc = Parse(client_.CallQuery(services::kElbv2, "CreateRule", params), "CreateRule");
  if (!doc) return doc.error();
  ListenerRule rule = ReadRule(doc->Root().select_node("//Rules/member").node());
  if (rule.arn.empty()) return MalformedAnswer("CreateRule answered no RuleArn");
  return rule;
}

AwsResult<void> Elbv2::ModifyRule(std::string_view rule_arn, std::string_view path_pattern,
                                  std::string_view target_group_arn) {
  QueryParams params = ForwardByPath(path_pattern, target_group_arn);
  params.emplace_back("RuleArn", std::string(rule_arn));
  auto modified = client_.CallQuery(services::kElbv2, "ModifyRule", params);
  if (!modified) return modified.error();
  return {};
}

AwsResult<void> Elbv2::DeleteRule(std::string_view rule_arn) {
  auto deleted =
      client_.CallQuery(services::kElbv2, "DeleteRule", {{"RuleArn", std::string(rule_arn)}});
  if (!deleted) return deleted.error();
  return {};
}

}  // namespace tempo::aws
