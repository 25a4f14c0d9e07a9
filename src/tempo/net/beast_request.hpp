#pragma once
// Private to tempo/net: the glue between Beast's message types and tempo::net::Request.

#include "tempo/net/http.hpp"
#include "tempo/net/http_parse.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>

namespace tempo::net::detail {

using BeastRequest = boost::beast::http::request<boost::beast::http::string_body>;
using BeastRequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// Applies the server's limits to a fresh parser.
void ConfigureParser(BeastRequestParser& parser, const RequestLimits& limits);

/// Copies method, target and headers out of `req` and moves its body.
Request ToRequest(BeastRequest& req, std::string_view remote_address);

/// Maps a read error to the rejection the server answers with; nullopt when the peer simply
/// went away (end of stream, partial message, socket errors) and nothing should be sent.
std::optional<ParseOutcome> RejectionFor(const boost::system::error_code& ec);

}  // namespace tempo::net::detail
