#include "tempo/twilio/twiml.hpp"

#include "tempo/base/strings.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tempo::twilio {
namespace {

std::string_view ToString(HttpMethod method) { return method == HttpMethod::kGet ? "GET" : "POST"; }

// Writes one element: <name attr="v" ...> then either "/>" or children and </name>.
class Tag {
 public:
  Tag(std::string& out, std::string_view name) : out_(out), name_(name) {
    out_.push_back('<');
    out_.append(name_);
  }

  Tag& Attr(std::string_view name, std::string_view value) {
    if (value.empty()) return *this;
    out_.push_back(' ');
    out_.append(name);
    out_.append("=\"");
    AppendXmlEscaped(value, out_);
    out_.push_back('"');
    return *this;
  }
  Tag& Attr(std::string_view name, std::optional<int> value) {
    return value ? Attr(name, std::to_string(*value)) : *this;
  }
  Tag& Attr(std::string_view name, std::optional<bool> value) {
    return value ? Attr(name, std::string_view(*value ? "true" : "false")) : *this;
  }
  Tag& Attr(std::string_view name, std::optional<HttpMethod> value) {
    return value ? Attr(name, ToString(*value)) : *this;
  }

  /// <name .../>
  void Empty() { out_.append("/>"); }
  /// <name ...>text</name>, or <name .../> when text is empty.
  void Text(std::string_view text) {
    if (text.empty()) return Empty();
    out_.push_back('>');
    AppendXmlEscaped(text, out_);
    End();
  }
  void Open() { out_.push_back('>'); }
  void End() {
    out_.append("</");
    out_.append(name_);
    out_.push_back('>');
  }

 private:
  std::string& out_;
  std::string_view name_;
};

void AppendSay(std::string& out, std::string_view text, const SayOptions& options) {
  Tag(out, "Say")
      .Attr("voice", options.voice)
      .Attr("language", options.language)
      .Attr("loop", options.loop)
      .Text(text);
}

void AppendNumber(std::string& out, const DialNumber& number) {
  Tag(out, "Number")
      .Attr("sendDigits", number.send_digits)
      .Attr("url", number.url)
      .Attr("method", number.method)
      .Attr("statusCallbackEvent", number.status_callback_event)
      .Attr("statusCallback", number.status_callback)
      .Attr("statusCallbackMethod", number.status_callback_method)
      .Attr("machineDetection", number.machine_detection)
      .Attr("machineDetectionTimeout", number.machine_detection_timeout_s)
      .Attr("amdStatusCallback", number.amd_status_callback)
      .Attr("amdStatusCallbackMethod", number.amd_status_callback_method)
      .Text(number.number);
}

void AppendSip(std::string& out, const DialSip& sip) {
  Tag(out, "Sip")
      .Attr("username", sip.username)
      .Attr("password", sip.password)
      .Attr("url", sip.url)
      .Attr("method", sip.method)
      .Attr("statusCallbackEvent", sip.status_callback_event)
      .Attr("statusCallback", sip.status_callback)
      .Attr("statusCallbackMethod", sip.status_callback_method)
      .Attr("machineDetection", sip.machine_detection)
      .Attr("machineDetectionTimeout", sip.machine_detection_timeout_s)
      .Text(sip.uri);
}

}  // namespace

TwimlResponse& TwimlResponse::Say(std::string_view text, const SayOptions& options) {
  AppendSay(body_, text, options);
  return *this;
}

TwimlResponse& TwimlResponse::Play(std::string_view url, const PlayOptions& options) {
  Tag(body_, "Play").Attr("loop", options.loop).Attr("digits", options.digits).Text(url);
  return *this;
}

TwimlResponse& TwimlResponse::Pause(std::optional<int> length_s) {
  Tag(body_, "Pause").Attr("length", length_s).Empty();
  return *this;
}

TwimlResponse& TwimlResponse::Hangup() {
  Tag(body_, "Hangup").Empty();
  return *this;
}

TwimlResponse& TwimlResponse::Reject(std::optional<RejectReason> reason) {
  Tag tag(body_, "Reject");
  if (reason)
    tag.Attr("reason", std::string_view(*reason == RejectReason::kBusy ? "busy" : "rejected"));
  tag.Empty();
  return *this;
}

TwimlResponse& TwimlResponse::Redirect(std::string_view url, const RedirectOptions& options) {
  Tag(body_, "Redirect").Attr("method", options.method).Text(url);
  return *this;
}

TwimlResponse& TwimlResponse::ConnectStream(const ConnectOptions& connect,
                                            const StreamOptions& stream) {
  Tag connect_tag(body_, "Connect");
  connect_tag.Attr("action", connect.action).Attr("method", connect.method).Open();
  Tag stream_tag(body_, "Stream");
  stream_tag.Attr("url", stream.url)
      .Attr("name", stream.name)
      .Attr("track", stream.track)
      .Attr("statusCallback", stream.status_callback)
      .Attr("statusCallbackMethod", stream.status_callback_method);
  if (stream.parameters.empty()) {
    stream_tag.Empty();
  } else {
    stream_tag.Open();
    for (const StreamParameter& parameter : stream.parameters) {
      Tag(body_, "Parameter").Attr("name", parameter.name).Attr("value", parameter.value).Empty();
    }
    stream_tag.End();
  }
  connect_tag.End();
  return *this;
}

TwimlResponse& TwimlResponse::Dial(const DialOptions& options,
                                   const std::vector<DialTarget>& targets) {
  Tag tag(body_, "Dial");
  tag.Attr("action", options.action)
      .Attr("method", options.method)
      .Attr("timeout", options.timeout_s)
      .Attr("hangupOnStar", options.hangup_on_star)
      .Attr("timeLimit", options.time_limit_s)
      .Attr("callerId", options.caller_id)
      .Attr("record", options.record)
      .Attr("trim", options.trim)
      .Attr("recordingStatusCallback", options.recording_status_callback)
      .Attr("recordingStatusCallbackMethod", options.recording_status_callback_method)
      .Attr("recordingStatusCallbackEvent", options.recording_status_callback_event)
      .Attr("answerOnBridge", options.answer_on_bridge)
      .Attr("ringTone", options.ring_tone);
  if (targets.empty()) {
    tag.Empty();
    return *this;
  }
  tag.Open();
  for (const DialTarget& target : targets) {
    if (const auto* number = std::get_if<DialNumber>(&target)) {
      AppendNumber(body_, *number);
    } else {
      AppendSip(body_, std::get<DialSip>(target));
    }
  }
  tag.End();
  return *this;
}

TwimlResponse& TwimlResponse::Record(const RecordOptions& options) {
  Tag(body_, "Record")
      .Attr("action", options.action)
      .Attr("method", options.method)
      .Attr("timeout", options.timeout_s)
      .Attr("finishOnKey", options.finish_on_key)
      .Attr("maxLength", options.max_length_s)
      .Attr("playBeep", options.play_beep)
      .Attr("trim", options.trim)
      .Attr("recordingStatusCallback", options.recording_status_callback)
      .Attr("recordingStatusCallbackMethod", options.recording_status_callback_method)
      .Attr("recordingStatusCallbackEvent", options.recording_status_callback_event)
      .Attr("transcribe", options.transcribe)
      .Attr("transcribeCallback", options.transcribe_callback)
      .Empty();
  return *this;
}

TwimlResponse& TwimlResponse::Gather(const GatherOptions& options,
                                     const std::vector<Speech>& prompts) {
  Tag tag(body_, "Gather");
  tag.Attr("input", options.input)
      .Attr("numDigits", options.num_digits)
      .Attr("action", options.action)
      .Attr("method", options.method)
      .Attr("timeout", options.timeout_s)
      .Attr("finishOnKey", options.finish_on_key)
      .Attr("speechTimeout", options.speech_timeout)
      .Attr("language", options.language)
      .Attr("hints", options.hints);
  if (prompts.empty()) {
    tag.Empty();
    return *this;
  }
  tag.Open();
  for (const Speech& prompt : prompts) AppendSay(body_, prompt.text, prompt.options);
  tag.End();
  return *this;
}

std::string TwimlResponse::ToXml() const {
  constexpr std::string_view kDeclaration = R"(<?xml version="1.0" encoding="UTF-8"?>)";
  std::string out;
  out.reserve(kDeclaration.size() + body_.size() + 32);
  out.append(kDeclaration);
  if (body_.empty()) {
    out.append("<Response/>");
    return out;
  }
  out.append("<Response>");
  out.append(body_);
  out.append("</Response>");
  return out;
}

}  // namespace tempo::twilio
