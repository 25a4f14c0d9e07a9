#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace tempo {

/// Serialises `value` without ever throwing. nlohmann's plain dump() throws type_error 316
/// on a string that is not valid UTF-8, and our JSON holds text from outside (caller
/// speech, Twilio form fields, custom parameters, agent JSON, API bodies): one stray byte
/// must not abort a call or lose its artefacts. Invalid sequences become U+FFFD instead.
/// `indent` as in nlohmann::json::dump (-1: compact).
std::string DumpJson(const nlohmann::json& value, int indent = -1);

/// `text` with invalid UTF-8 sequences replaced exactly as DumpJson replaces them, for text
/// from outside that goes where only UTF-8 is accepted (PostgreSQL text columns) and must
/// match what the JSON artefacts say.
std::string ValidUtf8(std::string_view text);

}  // namespace tempo
