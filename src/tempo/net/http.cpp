#include "tempo/net/http.hpp"

#include <array>
#include <cstdio>

namespace tempo::net {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

void AppendJsonString(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          std::array<char, 8> buf{};
          std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
          out += buf.data();
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string_view ToString(Method m) {
  switch (m) {
    case Method::kGet:
      return "GET";
    case Method::kHead:
      return "HEAD";
    case Method::kPost:
      return "POST";
    case Method::kPut:
      return "PUT";
    case Method::kPatch:
      return "PATCH";
    case Method::kDelete:
      return "DELETE";
    case Method::kOptions:
      return "OPTIONS";
    case Method::kOther:
      return "OTHER";
  }
  return "OTHER";
}

Method ParseMethod(std::string_view text) {
  // Methods are case-sensitive (RFC 9110 §9.1).
  if (text == "GET") return Method::kGet;
  if (text == "POST") return Method::kPost;
  if (text == "HEAD") return Method::kHead;
  if (text == "PUT") return Method::kPut;
  if (text == "PATCH") return Method::kPatch;
  if (text == "DELETE") return Method::kDelete;
  if (text == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

std::optional<std::string_view> Headers::Find(std::string_view name) const {
  for (const Field& f : fields_) {
    if (EqualsIgnoreCase(f.name, name)) return std::string_view(f.value);
  }
  return std::nullopt;
}

void Headers::Add(std::string name, std::string value) {
  fields_.push_back(Field{std::move(name), std::move(value)});
}

void Headers::Set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const Field& f) { return EqualsIgnoreCase(f.name, name); });
  fields_.push_back(Field{std::move(name), std::move(value)});
}

std::string_view Request::PathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  return {};
}

Response Response::Json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.Add("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

Response Response::Error(int status, std::string_view code, std::string_view message) {
  std::string body;
  body.reserve(40 + code.size() + message.size());
  body += R"({"error":{"code":)";
  AppendJsonString(body, code);
  body += R"(,"message":)";
  AppendJsonString(body, message);
  body += "}}";
  return Json(status, std::move(body));
}

std::string_view StatusReason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace tempo::net
