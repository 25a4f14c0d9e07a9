#pragma once

// Reading AWS's XML answers (Query and REST-XML protocols, STS). Private to aws/.

#include "tempo/base/result.hpp"

#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <string_view>

namespace tempo::aws {

/// A parsed XML document. AWS's default namespaces are ignored (pugixml keeps element names
/// as written), so paths are plain element names.
class XmlDoc {
 public:
  /// Errors: kProtocol for text that is not well-formed XML.
  static Result<XmlDoc> Parse(std::string_view text);

  /// The text of the first element matching `xpath` ("//Error/Code"), or nullopt.
  [[nodiscard]] std::optional<std::string> Text(const char* xpath) const;
  [[nodiscard]] pugi::xml_node Root() const { return doc_->document_element(); }

 private:
  std::unique_ptr<pugi::xml_document> doc_ = std::make_unique<pugi::xml_document>();
};

/// The trimmed text of `node`'s child element `name`, or nullopt when absent.
std::optional<std::string> ChildText(const pugi::xml_node& node, const char* name);

}  // namespace tempo::aws
