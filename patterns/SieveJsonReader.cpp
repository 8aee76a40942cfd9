//===- SieveJsonReader.cpp - Strict, bounded JSON parsing -------*- C++ -*-===//

#include "patterns/SieveJsonReader.h"

#include <set>
#include <vector>

using nlohmann::json;
using namespace sieve;
using namespace sieve::jsonio;

std::string ReadError::where() const {
  if (line > 0)
    return "line " + std::to_string(line) + ", column " +
           std::to_string(column);
  return "at " + (pointer.empty() ? std::string("/") : pointer);
}

std::string jsonio::child(const std::string &pointer, std::string_view token) {
  std::string out = pointer + "/";
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string jsonio::child(const std::string &pointer, size_t index) {
  return pointer + "/" + std::to_string(index);
}

std::string jsonio::describe(const nlohmann::json &value) {
  switch (value.type()) {
  case json::value_t::object: return "an object";
  case json::value_t::array: return "an array";
  case json::value_t::null: return "null";
  case json::value_t::boolean: return value.get<bool>() ? "true" : "false";
  case json::value_t::string: {
    std::string s = value.dump(-1, ' ', true, json::error_handler_t::replace);
    return s.size() > 40 ? s.substr(0, 37) + "...\"" : s;
  }
  default: {
    std::string s = value.dump(-1, ' ', true, json::error_handler_t::replace);
    return s.size() > 40 ? s.substr(0, 40) + "..." : s;
  }
  }
}

namespace {
/// A SAX handler that builds the document while enforcing the limits.
class Builder : public nlohmann::json_sax<json> {
public:
  ReadError error;
  json root;

  bool null() override { return put(json(nullptr)); }
  bool boolean(bool v) override { return put(json(v)); }
  bool number_integer(number_integer_t v) override { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(json(v)); }
  bool number_float(number_float_t v, const string_t &) override {
    return put(json(v));
  }
  bool string(string_t &v) override { return put(json(std::move(v))); }
  bool binary(binary_t &) override {
    return fail("binary values are not JSON", "");
  }

  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t &k) override {
    Frame &f = stack.back();
    if (!f.keys.insert(k).second)
      return fail("duplicate key \"" + k + "\"; each key may appear once",
                  jsonio::child(f.pointer, k));
    f.key = k;
    return true;
  }

  bool parse_error(std::size_t position, const std::string &lastToken,
                   const nlohmann::detail::exception &ex) override {
    errorPosition = position;
    std::string what = ex.what();
    // nlohmann's text is "[json.exception.parse_error.101] parse error at
    // line 1, column 5: syntax error while parsing value - <detail>".
    size_t detail = what.find(" - ");
    if (detail != std::string::npos)
      message = what.substr(detail + 3);
    else if (size_t tag = what.find("] "); tag != std::string::npos)
      message = what.substr(tag + 2); // e.g. "number overflow parsing '1e400'"
    else
      message = what;
    if (message.empty())
      message = "syntax error near '" + lastToken + "'";
    return false;
  }

  std::size_t errorPosition = 0;
  std::string message;
  /// Set when the handler, not the lexer, stopped the parse.
  bool handlerFailed = false;
  std::string failPointer;

private:
  struct Frame {
    json value;
    std::set<std::string> keys;
    std::string key;
    std::string pointer;
  };
  std::vector<Frame> stack;

  bool fail(std::string m, std::string where) {
    message = std::move(m);
    failPointer = std::move(where);
    handlerFailed = true;
    return false;
  }

  std::string childPointer() const {
    const Frame &f = stack.back();
    if (f.value.is_object())
      return jsonio::child(f.pointer, f.key);
    return jsonio::child(f.pointer, f.value.size());
  }

  bool open(json value) {
    if (static_cast<int>(stack.size()) >= kMaxDepth)
      return fail("nesting deeper than " + std::to_string(kMaxDepth) +
                      " levels",
                  childPointer());
    Frame f;
    f.pointer = stack.empty() ? "" : childPointer();
    f.value = std::move(value);
    stack.push_back(std::move(f));
    return true;
  }

  bool close() {
    json value = std::move(stack.back().value);
    stack.pop_back();
    return put(std::move(value));
  }

  bool put(json value) {
    if (stack.empty()) {
      root = std::move(value);
      return true;
    }
    Frame &f = stack.back();
    if (f.value.is_object())
      f.value[f.key] = std::move(value);
    else
      f.value.push_back(std::move(value));
    return true;
  }
};
} // namespace

/// Converts a byte offset into a 1-based line and column.
static void lineColumn(std::string_view text, size_t offset, int &line,
                       int &column) {
  line = 1;
  column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

bool jsonio::read(std::string_view text, nlohmann::json &out, ReadError &err) {
  Builder builder;
  bool ok = nlohmann::json::sax_parse(text.begin(), text.end(), &builder,
                                      nlohmann::json::input_format_t::json,
                                      /*strict=*/true);
  if (ok) {
    out = std::move(builder.root);
    return true;
  }
  err = ReadError();
  if (builder.handlerFailed) {
    err.pointer = builder.failPointer;
    err.message = builder.message;
    return false;
  }
  // The position of a handler-reported error is where parsing stopped; the
  // lexer's own errors carry a position one past the offending character.
  size_t pos = builder.errorPosition ? builder.errorPosition - 1 : 0;
  lineColumn(text, pos, err.line, err.column);
  err.message = builder.message.empty() ? "invalid JSON" : builder.message;
  return false;
}
