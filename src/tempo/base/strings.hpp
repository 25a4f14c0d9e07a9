#pragma once

// Small text helpers that several modules need. ASCII only and locale independent: they read
// protocol text (headers, emails, URLs, form bodies), where the process locale must not
// change the result.

#include "tempo/base/result.hpp"

#include <string>
#include <string_view>

namespace tempo {

/// `s` with 'A'..'Z' turned into 'a'..'z'; every other byte unchanged.
std::string Lower(std::string_view s);

/// `s` without leading and trailing ASCII white space (" \t\n\v\f\r").
std::string_view Trim(std::string_view s);

/// The value of a hexadecimal digit ('0'..'9', 'a'..'f', 'A'..'F'), or -1 for any other char.
int HexValue(char c);

/// What '+' means to PercentDecode: itself (URIs, RFC 3986) or a space (HTML form bodies,
/// application/x-www-form-urlencoded).
enum class PlusMeans { kPlus, kSpace };

/// Undoes %XX escapes. Errors: kInvalidArgument on a truncated or non-hex escape.
Result<std::string> PercentDecode(std::string_view text, PlusMeans plus = PlusMeans::kPlus);

/// How PercentEncode writes a space: "%20" (URIs, AWS canonical requests) or '+' (form bodies).
enum class SpaceAs { kPercent20, kPlus };

/// Appends `text` to `out` with every byte outside RFC 3986's unreserved set
/// (A-Z a-z 0-9 - . _ ~) written as %XX in upper-case hex; '/' is kept as is when
/// `keep_slash` (a URI path). PercentDecode undoes it.
void PercentEncodeTo(std::string_view text, std::string& out, SpaceAs space = SpaceAs::kPercent20,
                     bool keep_slash = false);
std::string PercentEncode(std::string_view text, SpaceAs space = SpaceAs::kPercent20,
                          bool keep_slash = false);

/// Appends `text` XML-escaped (for element text and attribute values alike): the five
/// entities; malformed UTF-8 becomes U+FFFD; C0 controls XML 1.0 cannot hold are dropped.
void AppendXmlEscaped(std::string_view text, std::string& out);

}  // namespace tempo
