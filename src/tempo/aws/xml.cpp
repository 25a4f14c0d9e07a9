#include "tempo/aws/xml.hpp"

#include "tempo/base/strings.hpp"

namespace tempo::aws {

Result<XmlDoc> XmlDoc::Parse(std::string_view text) {
  XmlDoc out;
  // No DOCTYPE entities are expanded by pugixml, so a hostile answer cannot grow itself.
  const pugi::xml_parse_result parsed =
      out.doc_->load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) return ProtocolError(std::string("malformed XML: ") + parsed.description());
  return out;
}

std::optional<std::string> XmlDoc::Text(const char* xpath) const {
  const pugi::xpath_node hit = doc_->select_node(xpath);
  if (!hit) return std::nullopt;
  return std::string(Trim(hit.node().child_value()));
}

std::optional<std::string> ChildText(const pugi::xml_node& node, const char* name) {
  const pugi::xml_node child = node.child(name);
  if (!child) return std::nullopt;
  return std::string(Trim(child.child_value()));
}

}  // namespace tempo::aws
