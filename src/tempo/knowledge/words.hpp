#pragma once
// Words as a speech recogniser hears them: shared by the local engine's language model and the
// knowledge-base retrieval every engine uses.

#include <string>
#include <string_view>
#include <vector>

namespace tempo::knowledge {

/// Lower-cases, strips punctuation, spells out digit strings ("3" -> "three", "2:30" ->
/// "two thirty") and returns the words of one sentence.
std::vector<std::string> NormalizeWords(std::string_view sentence);

}  // namespace tempo::knowledge
