#include "tempo/control/dashboard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

namespace tempo::control {
namespace {

constexpr std::string_view kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; font-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// FNV-1a: a stable content hash for the ETag (not a security property).
uint64_t Fnv1a(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

bool ValidAssetName(std::string_view name) {
  return !name.empty() && name.find("..") == std::string_view::npos &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '.' || c == '-' || c == '_';
         });
}

}  // namespace

const EmbeddedFile* FindEmbeddedFile(std::string_view path) {
  const auto files = EmbeddedFiles();
  auto it = std::lower_bound(files.begin(), files.end(), path,
                             [](const EmbeddedFile& f, std::string_view p) { return f.path < p; });
  if (it == files.end() || it->path != path) return nullptr;
  return &*it;
}

std::string_view DashboardContentSecurityPolicy() { return kCsp; }

net::Response ServeEmbeddedFile(const net::Request& request, std::string_view path) {
  const EmbeddedFile* file = FindEmbeddedFile(path);
  if (!file) return net::Response::Error(404, "not_found", "no such dashboard file");
  const std::string etag = fmt::format("\"{:016x}\"", Fnv1a(file->bytes));
  net::Response r;
  // Revalidated on every use: the binary's version decides what the browser runs, and the
  // ETag keeps the revalidation to a 304.
  r.headers.Set("Cache-Control", "no-cache");
  r.headers.Set("ETag", etag);
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("Referrer-Policy", "no-referrer");
  if (file->content_type.rfind("text/html", 0) == 0) {
    r.headers.Set("Content-Security-Policy", std::string(kCsp));
    r.headers.Set("X-Frame-Options", "DENY");
  }
  if (auto match = request.headers.Find("If-None-Match"); match && *match == etag) {
    r.status = 304;
    return r;
  }
  r.headers.Set("Content-Type", std::string(file->content_type));
  if (request.method != net::Method::kHead) r.body = std::string(file->bytes);
  return r;
}

void AddDashboardRoutes(net::Router& router) {
  const auto page = [](const net::Request& request) {
    return ServeEmbeddedFile(request, "index.html");
  };
  for (const char* pattern : {"/dashboard", "/dashboard/", "/dashboard/login", "/dashboard/agents",
                              "/dashboard/agents/{id}", "/dashboard/numbers", "/dashboard/calls",
                              "/dashboard/calls/{sid}", "/dashboard/analytics"}) {
    router.Add(net::Method::kGet, pattern, page);
  }
  router.Add(net::Method::kGet, "/dashboard/assets/{file}", [](const net::Request& request) {
    const std::string_view name = request.PathParam("file");
    if (!ValidAssetName(name)) return net::Response::Error(404, "not_found", "no such file");
    return ServeEmbeddedFile(request, "assets/" + std::string(name));
  });
}

}  // namespace tempo::control
