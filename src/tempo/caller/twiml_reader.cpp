#include "tempo/caller/twiml_reader.hpp"

#include "tempo/base/strings.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <pugixml.hpp>

namespace tempo::caller {
namespace {

/// Twilio: "The combined length of each <Parameter> name and value must be under 500".
constexpr std::size_t kMaxParameterChars = 500;

// The verbs' fields own their text.
std::string Trim(std::string_view text) { return std::string(tempo::Trim(text)); }

std::string Attr(const pugi::xml_node& node, const char* name) {
  return node.attribute(name).as_string();
}

std::string MethodAttr(const pugi::xml_node& node, const char* name,
                       std::vector<std::string>& warnings) {
  std::string method = Attr(node, name);
  if (method.empty()) return "POST";
  if (method != "GET" && method != "POST") {
    warnings.push_back(
        fmt::format("<{}> has {}=\"{}\" (only GET and POST exist)", node.name(), name, method));
    return "POST";
  }
  return method;
}

std::optional<int> IntAttr(const pugi::xml_node& node, const char* name,
                           std::vector<std::string>& warnings) {
  const pugi::xml_attribute attr = node.attribute(name);
  if (!attr) return std::nullopt;
  const std::string text = Trim(attr.value());
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || value < 0) {
    warnings.push_back(fmt::format("<{}> has a bad {}=\"{}\"", node.name(), name, attr.value()));
    return std::nullopt;
  }
  return value;
}

bool IsName(const pugi::xml_node& node, const char* name) {
  return node.type() == pugi::node_element && std::strcmp(node.name(), name) == 0;
}

StreamNoun ReadStream(const pugi::xml_node& node, std::vector<std::string>& warnings) {
  StreamNoun stream;
  stream.url = Trim(Attr(node, "url"));
  stream.name = Attr(node, "name");
  stream.track = Attr(node, "track");
  stream.status_callback = Attr(node, "statusCallback");
  if (stream.url.empty()) warnings.emplace_back("<Stream> has no url");
  if (stream.url.find('?') != std::string::npos) {
    warnings.emplace_back("<Stream url> has a query string, which Twilio drops");
  }
  if (!stream.url.empty() && stream.url.rfind("wss://", 0) != 0) {
    warnings.push_back(
        fmt::format("<Stream url=\"{}\"> is not wss:// (Twilio requires wss)", stream.url));
  }
  if (!stream.track.empty() && stream.track != "inbound_track") {
    warnings.push_back(
        fmt::format("<Stream track=\"{}\">: a bidirectional stream can only receive inbound_track",
                    stream.track));
  }
  for (const pugi::xml_node& child : node.children()) {
    if (!IsName(child, "Parameter")) continue;
    std::string name = Attr(child, "name");
    std::string value = Attr(child, "value");
    if (name.size() + value.size() >= kMaxParameterChars) {
      warnings.push_back(
          fmt::format("<Parameter name=\"{}\"> is {} characters with its value (limit 500)",
                      name.substr(0, 40), name.size() + value.size()));
    }
    stream.parameters.emplace_back(std::move(name), std::move(value));
  }
  return stream;
}

Verb ReadDial(const pugi::xml_node& node, std::vector<std::string>& warnings) {
  DialVerb dial;
  dial.action = Trim(Attr(node, "action"));
  dial.method = MethodAttr(node, "method", warnings);
  dial.caller_id = Attr(node, "callerId");
  dial.timeout_s = IntAttr(node, "timeout", warnings);
  static constexpr std::pair<const char*, DialTarget::Kind> kNouns[] = {
      {"Number", DialTarget::Kind::kNumber}, {"Sip", DialTarget::Kind::kSip},
      {"Client", DialTarget::Kind::kClient}, {"Conference", DialTarget::Kind::kConference},
      {"Queue", DialTarget::Kind::kQueue},
  };
  for (const pugi::xml_node& child : node.children()) {
    if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      std::string text = Trim(child.value());
      if (!text.empty()) dial.targets.push_back({DialTarget::Kind::kNumber, std::move(text)});
      continue;
    }
    for (const auto& [name, kind] : kNouns) {
      if (IsName(child, name)) dial.targets.push_back({kind, Trim(child.text().as_string())});
    }
  }
  if (dial.targets.empty()) warnings.emplace_back("<Dial> has nothing to dial");
  return dial;
}

Verb ReadVerb(const pugi::xml_node& node, std::vector<std::string>& warnings) {
  const std::string_view name = node.name();
  if (name == "Say") {
    SayVerb say;
    say.text = Trim(node.child_value());
    say.voice = Attr(node, "voice");
    say.language = Attr(node, "language");
    say.loop = IntAttr(node, "loop", warnings).value_or(1);
    return say;
  }
  if (name == "Play") return PlayVerb{Trim(node.child_value())};
  if (name == "Pause") return PauseVerb{IntAttr(node, "length", warnings).value_or(1)};
  if (name == "Hangup") return HangupVerb{};
  if (name == "Reject") {
    RejectVerb reject{Attr(node, "reason")};
    if (reject.reason.empty()) reject.reason = "rejected";
    return reject;
  }
  if (name == "Redirect") {
    RedirectVerb redirect{Trim(node.child_value()), MethodAttr(node, "method", warnings)};
    if (redirect.url.empty()) warnings.emplace_back("<Redirect> has no URL");
    return redirect;
  }
  if (name == "Dial") return ReadDial(node, warnings);
  if (name == "Record") {
    RecordVerb record;
    record.action = Trim(Attr(node, "action"));
    record.method = MethodAttr(node, "method", warnings);
    record.max_length_s = IntAttr(node, "maxLength", warnings);
    record.timeout_s = IntAttr(node, "timeout", warnings);
    record.finish_on_key = Attr(node, "finishOnKey");
    record.play_beep = std::string_view(Attr(node, "playBeep")) != "false";
    if (record.action.empty()) {
      warnings.emplace_back("<Record> has no action: Twilio re-requests the current URL");
    }
    return record;
  }
  if (name == "Connect") {
    ConnectVerb connect;
    connect.action = Trim(Attr(node, "action"));
    connect.method = MethodAttr(node, "method", warnings);
    for (const pugi::xml_node& child : node.children()) {
      if (!IsName(child, "Stream")) continue;
      if (connect.stream) {
        warnings.emplace_back("<Connect> has more than one <Stream>; the first is used");
        continue;
      }
      connect.stream = ReadStream(child, warnings);
    }
    if (!connect.stream) warnings.emplace_back("<Connect> has no <Stream>");
    return connect;
  }
  if (name == "Gather") {
    GatherVerb gather;
    gather.action = Trim(Attr(node, "action"));
    for (const pugi::xml_node& child : node.children()) {
      if (IsName(child, "Say")) gather.prompts.push_back(Trim(child.child_value()));
    }
    return gather;
  }
  return OtherVerb{std::string(name)};
}

std::string Shorten(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  return std::string(text.substr(0, limit)) + "...";
}

std::string_view KindName(DialTarget::Kind kind) {
  switch (kind) {
    case DialTarget::Kind::kNumber:
      return "number";
    case DialTarget::Kind::kSip:
      return "sip";
    case DialTarget::Kind::kClient:
      return "client";
    case DialTarget::Kind::kConference:
      return "conference";
    case DialTarget::Kind::kQueue:
      return "queue";
  }
  return "number";
}

struct Describer {
  std::string operator()(const SayVerb& v) const {
    return fmt::format("Say \"{}\"", Shorten(v.text, 120));
  }
  std::string operator()(const PlayVerb& v) const { return "Play " + v.url; }
  std::string operator()(const PauseVerb& v) const { return fmt::format("Pause {}s", v.length_s); }
  std::string operator()(const HangupVerb&) const { return "Hangup"; }
  std::string operator()(const RejectVerb& v) const { return "Reject (" + v.reason + ")"; }
  std::string operator()(const RedirectVerb& v) const { return "Redirect " + v.url; }
  std::string operator()(const DialVerb& v) const {
    std::string out = "Dial";
    for (const auto& t : v.targets) out += fmt::format(" {}:{}", KindName(t.kind), t.value);
    if (!v.action.empty()) out += " (action " + v.action + ")";
    return out;
  }
  std::string operator()(const RecordVerb& v) const {
    std::string out = "Record";
    if (v.max_length_s) out += fmt::format(" maxLength={}s", *v.max_length_s);
    if (!v.action.empty()) out += " (action " + v.action + ")";
    return out;
  }
  std::string operator()(const ConnectVerb& v) const {
    std::string out = "Connect Stream ";
    out += v.stream ? v.stream->url : "(none)";
    if (v.stream && !v.stream->parameters.empty()) {
      out += fmt::format(" [{} parameters]", v.stream->parameters.size());
    }
    if (!v.action.empty()) out += " (action " + v.action + ")";
    return out;
  }
  std::string operator()(const GatherVerb& v) const {
    return fmt::format("Gather ({} prompts)", v.prompts.size());
  }
  std::string operator()(const OtherVerb& v) const { return v.name + " (not modelled, skipped)"; }
};

}  // namespace

Result<TwimlDocument> ParseTwiml(std::string_view xml) {
  if (xml.size() > kMaxTwimlBytes) {
    return InvalidArgument(fmt::format("TwiML is {} bytes (limit {})", xml.size(), kMaxTwimlBytes));
  }
  pugi::xml_document doc;
  // No parse_doctype: a DTD is skipped, so no entity can be declared or expanded.
  const pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return InvalidArgument(fmt::format("TwiML is not well-formed XML: {} at offset {}",
                                       parsed.description(), parsed.offset));
  }
  const pugi::xml_node root = doc.document_element();
  if (!IsName(root, "Response")) {
    return InvalidArgument(fmt::format("TwiML root element is <{}>, not <Response>", root.name()));
  }
  TwimlDocument out;
  for (const pugi::xml_node& child : root.children()) {
    if (child.type() == pugi::node_element) {
      out.verbs.push_back(ReadVerb(child, out.warnings));
    } else if (child.type() == pugi::node_pcdata && !Trim(child.value()).empty()) {
      out.warnings.emplace_back("text directly inside <Response> is ignored");
    }
  }
  return out;
}

std::string Describe(const Verb& verb) { return std::visit(Describer{}, verb); }

}  // namespace tempo::caller
