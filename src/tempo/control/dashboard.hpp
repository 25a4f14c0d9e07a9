#pragma once

#include "tempo/net/http.hpp"
#include "tempo/net/router.hpp"

#include <span>
#include <string_view>

namespace tempo::control {

/// One file of the dashboard, compiled into the binary (generated from web/ at build time by
/// cmake/EmbedFiles.cmake).
struct EmbeddedFile {
  std::string_view path;          ///< relative to web/, e.g. "assets/app.js"
  std::string_view content_type;  ///< e.g. "text/javascript; charset=utf-8"
  std::string_view bytes;
};

/// The embedded dashboard files, sorted by path. Defined by the generated source.
std::span<const EmbeddedFile> EmbeddedFiles();

/// The file at `path` (relative to web/), or null.
const EmbeddedFile* FindEmbeddedFile(std::string_view path);

/// The dashboard's Content-Security-Policy: its own scripts, styles, media and connections only.
std::string_view DashboardContentSecurityPolicy();

/// Serves one embedded file for `request` (ETag + If-None-Match -> 304, Cache-Control,
/// Content-Security-Policy, nosniff). Unknown paths answer 404. Pure: no I/O.
net::Response ServeEmbeddedFile(const net::Request& request, std::string_view path);

/// Registers the dashboard's pages (GET /dashboard, /dashboard/login, /dashboard/agents,
/// /dashboard/agents/{id}, /dashboard/numbers, /dashboard/calls, /dashboard/calls/{sid},
/// /dashboard/analytics: the same page shell, which routes in the browser) and its assets
/// (GET /dashboard/assets/{file}). The handlers are synchronous and never block.
void AddDashboardRoutes(net::Router& router);

}  // namespace tempo::control
