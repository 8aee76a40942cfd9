//===- SieveExpr.cpp - Predicate expression parser --------------*- C++ -*-===//
//
// A one-token-lookahead lexer feeding a precedence-climbing parser. Binary
// chains are parsed by loops, so recursion only grows with nesting (bounded by
// kMaxDepth) times the number of precedence levels.
//
//===----------------------------------------------------------------------===//

#include "dialect/SieveExpr.h"
#include "dialect/SieveExprOps.h"

#include <cassert>
#include <cstdio>
#include <iterator>
#include <limits>

using namespace sieve::expr;

namespace {
using U64 = uint64_t;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
} // namespace

//===----------------------------------------------------------------------===//
// Arithmetic
//===----------------------------------------------------------------------===//

int64_t sieve::expr::applyBinary(OpKind kind, int64_t a, int64_t b) {
  namespace ops = sieve::expr_ops;
  switch (kind) {
  case OpKind::Add: return ops::add(a, b);
  case OpKind::Sub: return ops::sub(a, b);
  case OpKind::Mul: return ops::mul(a, b);
  case OpKind::Div: return ops::div(a, b);
  case OpKind::Rem: return ops::rem(a, b);
  case OpKind::And: return a & b;
  case OpKind::Or: return a | b;
  case OpKind::Xor: return a ^ b;
  case OpKind::Shl: return ops::shl(a, b);
  case OpKind::Shr: return ops::shr(a, b);
  case OpKind::Eq: return a == b;
  case OpKind::Ne: return a != b;
  case OpKind::Lt: return a < b;
  case OpKind::Le: return a <= b;
  case OpKind::Gt: return a > b;
  case OpKind::Ge: return a >= b;
  case OpKind::LAnd: return a != 0 && b != 0;
  case OpKind::LOr: return a != 0 || b != 0;
  default: return 0;
  }
}

int64_t sieve::expr::applyUnary(OpKind kind, int64_t a) {
  switch (kind) {
  case OpKind::Neg: return sieve::expr_ops::neg(a);
  case OpKind::Not: return a == 0;
  default: return 0;
  }
}

const char *sieve::expr::spelling(OpKind kind) {
  // Indexed by OpKind, in declaration order.
  static const char *const kSpelling[] = {
      "",   "",   "-",  "!",  "+",  "-",  "*",  "/",  "%",  "&",  "|",
      "^",  "<<", ">>", "==", "!=", "<",  "<=", ">",  ">=", "&&", "||"};
  static_assert(std::size(kSpelling) == size_t(OpKind::LOr) + 1,
                "one spelling per OpKind");
  size_t i = size_t(kind);
  return i < std::size(kSpelling) ? kSpelling[i] : "";
}

const char *sieve::expr::spelling(Var var) {
  switch (var) {
  case Var::Q: return "q";
  case Var::K: return "k";
  case Var::QB: return "qb";
  case Var::KB: return "kb";
  case Var::D: return "d";
  }
  return "";
}

namespace {

constexpr int kUnaryPrec = 11;
constexpr int kLeafPrec = 12;

/// Binding strength of a node kind as it appears in text: the table in the
/// header for operators, and tighter than any operator for leaves.
int precedence(OpKind kind) {
  switch (kind) {
  case OpKind::Mul: case OpKind::Div: case OpKind::Rem: return 10;
  case OpKind::Add: case OpKind::Sub: return 9;
  case OpKind::Shl: case OpKind::Shr: return 8;
  case OpKind::Lt: case OpKind::Le: case OpKind::Gt: case OpKind::Ge: return 7;
  case OpKind::Eq: case OpKind::Ne: return 6;
  case OpKind::And: return 5;
  case OpKind::Xor: return 4;
  case OpKind::Or: return 3;
  case OpKind::LAnd: return 2;
  case OpKind::LOr: return 1;
  case OpKind::Neg: case OpKind::Not: return kUnaryPrec;
  default: return kLeafPrec;
  }
}

//===----------------------------------------------------------------------===//
// Lexer
//===----------------------------------------------------------------------===//

enum class Tok { End, Number, Ident, Punct, Error };

struct Token {
  Tok kind = Tok::End;
  std::string_view text;
  int column = 1;
  int64_t value = 0;       // Number
  Var var = Var::Q;        // Ident
  std::string message;     // Error
};

/// Appends byte `c` for a message: printable ASCII as is, the rest (and the
/// quote and backslash, which would be ambiguous inside quotes) escaped.
void appendEscaped(std::string &out, unsigned char c) {
  if (c == '\'' || c == '\\') {
    out += '\\';
    out += char(c);
  } else if (c >= 0x20 && c < 0x7f) {
    out += char(c);
  } else {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(c));
    out += buf;
  }
}

/// Quotes source text for a message, shortening long words so that a
/// 64 KiB identifier does not make a 64 KiB diagnostic.
std::string quote(std::string_view text) {
  constexpr size_t kShown = 32;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kShown; ++i)
    appendEscaped(out, static_cast<unsigned char>(text[i]));
  if (text.size() > kShown)
    out += "...";
  return out + "'";
}

bool isWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

class Lexer {
public:
  explicit Lexer(std::string_view text) : text(text) {}
  Token next();

private:
  Token lexNumber(size_t start);
  Token lexIdent(size_t start);
  Token make(Tok kind, size_t start, size_t end) const {
    Token t;
    t.kind = kind;
    t.text = text.substr(start, end - start);
    t.column = int(start) + 1;
    return t;
  }

  std::string_view text;
  size_t pos = 0;
};

Token Lexer::next() {
  while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' ||
                               text[pos] == '\n' || text[pos] == '\r'))
    ++pos;
  size_t start = pos;
  if (pos == text.size())
    return make(Tok::End, start, start);
  char c = text[pos];
  if (c >= '0' && c <= '9')
    return lexNumber(start);
  if (isWordChar(c))
    return lexIdent(start);
  // Two-character operators first: longest match.
  static const char *const kPunct[] = {"||", "&&", "==", "!=", "<=", ">=",
                                       "<<", ">>", "|",  "^",  "&",  "<",
                                       ">",  "+",  "-",  "*",  "/",  "%",
                                       "!",  "(",  ")"};
  for (const char *p : kPunct) {
    std::string_view op(p);
    if (text.substr(pos, op.size()) == op) {
      pos += op.size();
      return make(Tok::Punct, start, pos);
    }
  }
  ++pos;
  Token t = make(Tok::Error, start, pos);
  t.message = "unexpected character " + quote(t.text);
  if (c == '=')
    t.message += "; did you mean '=='";
  return t;
}

Token Lexer::lexNumber(size_t start) {
  while (pos < text.size() && isWordChar(text[pos]))
    ++pos;
  Token t = make(Tok::Number, start, pos);
  U64 value = 0;
  for (char c : t.text) {
    if (c < '0' || c > '9') {
      t.kind = Tok::Error;
      t.message = "invalid integer literal " + quote(t.text) +
                  "; expected decimal digits only";
      return t;
    }
    // Checked before multiplying so the unsigned value never wraps either.
    constexpr U64 kMax = U64(std::numeric_limits<int64_t>::max());
    U64 digit = U64(c - '0');
    if (value > (kMax - digit) / 10) {
      t.kind = Tok::Error;
      t.message = "integer literal out of range";
      return t;
    }
    value = value * 10 + digit;
  }
  t.value = int64_t(value);
  return t;
}

Token Lexer::lexIdent(size_t start) {
  while (pos < text.size() && isWordChar(text[pos]))
    ++pos;
  Token t = make(Tok::Ident, start, pos);
  static const Var kVars[] = {Var::Q, Var::K, Var::QB, Var::KB, Var::D};
  for (Var v : kVars) {
    if (t.text == spelling(v)) {
      t.var = v;
      return t;
    }
  }
  t.kind = Tok::Error;
  t.message = "unknown identifier " + quote(t.text) +
              "; expected one of q, k, qb, kb, d";
  return t;
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

/// Maps a punctuator to the binary operator it spells, if any.
bool binaryOp(const Token &t, OpKind &kind) {
  if (t.kind != Tok::Punct)
    return false;
  static const OpKind kBinary[] = {
      OpKind::Add, OpKind::Sub, OpKind::Mul, OpKind::Div, OpKind::Rem,
      OpKind::And, OpKind::Or,  OpKind::Xor, OpKind::Shl, OpKind::Shr,
      OpKind::Eq,  OpKind::Ne,  OpKind::Lt,  OpKind::Le,  OpKind::Gt,
      OpKind::Ge,  OpKind::LAnd, OpKind::LOr};
  for (OpKind k : kBinary) {
    if (t.text == spelling(k)) {
      kind = k;
      return true;
    }
  }
  return false;
}

class Parser {
public:
  Parser(std::string_view text, Expr &out, ParseError &err)
      : lexer(text), out(out), err(err) {
    advance();
  }
  bool parseTop();

private:
  bool parseBinary(int minPrec, int &node);
  bool parseUnary(int &node);
  bool parsePrimary(int &node);
  bool enterNesting();
  bool addNode(Node n, int &index);
  bool fail(const char *expected);
  bool error(int column, std::string message) {
    err.column = column;
    err.message = std::move(message);
    return false;
  }
  void advance() { cur = lexer.next(); }
  bool isPunct(const char *p) const {
    return cur.kind == Tok::Punct && cur.text == p;
  }

  Lexer lexer;
  Token cur;
  Expr &out;
  ParseError &err;
  int depth = 0;
};

bool Parser::parseTop() {
  if (cur.kind == Tok::End)
    return fail("an expression");
  int root;
  if (!parseBinary(1, root))
    return false;
  if (cur.kind != Tok::End)
    return fail("an operator or end of expression");
  out.root = root;
  return true;
}

/// Reports that `expected` was wanted at the current token. A lexical error
/// token never matches anything, so its own message is reported instead;
/// this keeps errors in source order without lexing ahead.
bool Parser::fail(const char *expected) {
  if (cur.kind == Tok::Error)
    return error(cur.column, cur.message);
  std::string found =
      cur.kind == Tok::End ? "end of expression" : quote(cur.text);
  return error(cur.column,
               std::string("expected ") + expected + " but found " + found);
}

bool Parser::enterNesting() {
  if (++depth > kMaxDepth)
    return error(cur.column, "expression nested deeper than " +
                                 std::to_string(kMaxDepth) + " levels");
  return true;
}

bool Parser::addNode(Node n, int &index) {
  if (out.nodes.size() >= size_t(kMaxNodes))
    return error(n.column, "expression has more than " +
                               std::to_string(kMaxNodes) + " nodes");
  index = int(out.nodes.size());
  out.nodes.push_back(n);
  return true;
}

// Precedence climbing: the loop handles left-associative chains of one
// level, the recursive call an operand of strictly tighter operators.
bool Parser::parseBinary(int minPrec, int &node) {
  if (!parseUnary(node))
    return false;
  OpKind kind;
  while (binaryOp(cur, kind) && precedence(kind) >= minPrec) {
    Node n{kind};
    n.column = cur.column;
    advance();
    int rhs;
    if (!parseBinary(precedence(kind) + 1, rhs))
      return false;
    n.lhs = node;
    n.rhs = rhs;
    if (!addNode(n, node))
      return false;
  }
  return true;
}

bool Parser::parseUnary(int &node) {
  if (!isPunct("-") && !isPunct("!"))
    return parsePrimary(node);
  Node n{isPunct("-") ? OpKind::Neg : OpKind::Not};
  n.column = cur.column;
  if (!enterNesting())
    return false;
  advance();
  if (!parseUnary(n.lhs))
    return false;
  --depth;
  return addNode(n, node);
}

bool Parser::parsePrimary(int &node) {
  Node n{OpKind::Const};
  n.column = cur.column;
  if (cur.kind == Tok::Number) {
    n.value = cur.value;
    advance();
    return addNode(n, node);
  }
  if (cur.kind == Tok::Ident) {
    n.kind = OpKind::Var;
    n.var = cur.var;
    advance();
    return addNode(n, node);
  }
  if (!isPunct("("))
    return fail("an operand");
  if (!enterNesting())
    return false;
  advance();
  if (!parseBinary(1, node))
    return false;
  if (!isPunct(")"))
    return fail("')'");
  advance();
  --depth;
  return true;
}

} // namespace

bool sieve::expr::parse(std::string_view text, Expr &out, ParseError &err) {
  out = Expr();
  if (text.size() > size_t(kMaxTextBytes)) {
    err.column = kMaxTextBytes + 1;
    err.message = "expression is longer than " +
                  std::to_string(kMaxTextBytes) + " bytes";
    return false;
  }
  Parser parser(text, out, err);
  if (parser.parseTop())
    return true;
  out = Expr();
  return false;
}

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

int64_t sieve::expr::evaluate(const Expr &e, const Env &env) {
  if (e.root < 0)
    return 0;
  // Post-order lets one forward pass fill in every value; small expressions,
  // the common case, avoid a heap allocation per evaluation.
  size_t count = size_t(e.root) + 1;
  assert(count <= e.nodes.size() && "root out of range");
  int64_t small[256];
  std::vector<int64_t> large;
  int64_t *vals = small;
  if (count > sizeof small / sizeof small[0]) {
    large.resize(count);
    vals = large.data();
  }
  int64_t d = sieve::expr_ops::sub(env.qb, env.kb);
  for (size_t i = 0; i < count; ++i) {
    const Node &n = e.nodes[i];
    assert((n.lhs < int(i) && n.rhs < int(i)) && "nodes not in post-order");
    switch (n.kind) {
    case OpKind::Const: vals[i] = n.value; break;
    case OpKind::Var: {
      const int64_t byVar[] = {env.q, env.k, env.qb, env.kb, d};
      vals[i] = byVar[int(n.var)];
      break;
    }
    case OpKind::Neg: case OpKind::Not:
      vals[i] = applyUnary(n.kind, vals[n.lhs]);
      break;
    default: vals[i] = applyBinary(n.kind, vals[n.lhs], vals[n.rhs]); break;
    }
  }
  return vals[count - 1];
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

namespace {
/// How tightly a node's printed text binds, to decide on parentheses.
int printedPrecedence(const Node &n) {
  // "-5" reads as a unary minus; "(1 << 63)" is already parenthesized.
  if (n.kind == OpKind::Const && n.value < 0)
    return n.value == kMin ? kLeafPrec : kUnaryPrec;
  return precedence(n.kind);
}
} // namespace

// Emits with an explicit stack, since a left-leaning chain of 4096 nodes
// would otherwise recurse 4096 deep. Only the parentheses the grammar needs
// are printed: a fully parenthesized chain "q + q + ... + q" would nest deeper
// than kMaxDepth and not re-parse, whereas the needed ones all had to be in
// the source already.
std::string sieve::expr::print(const Expr &e) {
  struct Item {
    int node;          // -1 for literal text
    const char *text;  // when node == -1
  };
  std::string out;
  if (e.root < 0)
    return out;
  std::vector<Item> stack{{e.root, nullptr}};
  auto pushOperand = [&](int child, bool paren) {
    if (paren)
      stack.push_back({-1, ")"});
    stack.push_back({child, nullptr});
    if (paren)
      stack.push_back({-1, "("});
  };
  while (!stack.empty()) {
    Item item = stack.back();
    stack.pop_back();
    if (item.node < 0) {
      out += item.text;
      continue;
    }
    const Node &n = e.nodes[size_t(item.node)];
    int prec = precedence(n.kind);
    if (n.kind == OpKind::Var) {
      out += spelling(n.var);
    } else if (n.kind == OpKind::Const) {
      if (n.value == kMin)
        out += "(1 << 63)";
      else if (n.value < 0)
        out += "-" + std::to_string(U64(0) - U64(n.value));
      else
        out += std::to_string(n.value);
    } else if (prec == kUnaryPrec) {
      out += spelling(n.kind);
      pushOperand(n.lhs, printedPrecedence(e.nodes[n.lhs]) < kUnaryPrec);
    } else {
      // Left-associative: an equal-precedence left operand needs no
      // parentheses, an equal-precedence right operand does.
      pushOperand(n.rhs, printedPrecedence(e.nodes[n.rhs]) <= prec);
      stack.push_back({-1, " "});
      stack.push_back({-1, spelling(n.kind)});
      stack.push_back({-1, " "});
      pushOperand(n.lhs, printedPrecedence(e.nodes[n.lhs]) < prec);
    }
  }
  return out;
}
