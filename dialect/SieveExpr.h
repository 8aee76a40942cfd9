//===- SieveExpr.h - Predicate expression language --------------*- C++ -*-===//
//
// The predicate language of sieve's JSON spec format: a parser producing a
// small flat AST, an evaluator, and the one definition of its arithmetic.
// Pure C++17 with no exceptions, so the JSON importer, the constant folders
// and the fuzzer can all share it.
//
// Grammar (EBNF; `{ x }` is zero or more, `|` is alternation):
//
//   expression     = logical-or ;
//   logical-or     = logical-and    { "||" logical-and } ;
//   logical-and    = bit-or         { "&&" bit-or } ;
//   bit-or         = bit-xor        { "|" bit-xor } ;
//   bit-xor        = bit-and        { "^" bit-and } ;
//   bit-and        = equality       { "&" equality } ;
//   equality       = relational     { ( "==" | "!=" ) relational } ;
//   relational     = shift          { ( "<" | "<=" | ">" | ">=" ) shift } ;
//   shift          = additive       { ( "<<" | ">>" ) additive } ;
//   additive       = multiplicative { ( "+" | "-" ) multiplicative } ;
//   multiplicative = unary          { ( "*" | "/" | "%" ) unary } ;
//   unary          = ( "-" | "!" ) unary | primary ;
//   primary        = integer | identifier | "(" expression ")" ;
//   integer        = digit { digit } ;          (* must fit in int64_t *)
//   identifier     = "q" | "k" | "qb" | "kb" | "d" ;
//   digit          = "0" | "1" | ... | "9" ;
//
// Tokens are formed by longest match ("<<" before "<", "||" before "|"), and
// space, tab, newline and carriage return between tokens are skipped. A word
// made of [A-Za-z0-9_] is one token, so "3q" and "0x10" are bad literals and
// "qk" is an unknown identifier.
//
// Precedence, tightest first; every binary operator is left-associative
// (the same order as C, so "q & 1 == 0" means "q & (1 == 0)"):
//
//   11  - !  (unary, prefix)
//   10  *  /  %
//    9  +  -
//    8  <<  >>
//    7  <  <=  >  >=
//    6  ==  !=
//    5  &
//    4  ^
//    3  |
//    2  &&
//    1  ||
//
// Semantics: values are int64_t and every operation is total.
//   + - * and unary -   wrap modulo 2^64 (two's complement)
//   /                   truncates toward zero; x / 0 = 0; INT64_MIN / -1 =
//                       INT64_MIN
//   %                   sign of the dividend; x % 0 = 0; x % -1 = 0
//   << >>               for a shift amount outside [0, 63], << gives 0 and
//                       >> gives (x < 0 ? -1 : 0); << shifts the bit pattern;
//                       >> is arithmetic
//   comparisons, && || !  give 0 or 1; non-zero is true
// Variables: q and k are token positions, qb and kb their block indices, and
// d = qb - kb (wrapping) the block distance.
//
// Limits, so that fuzzed input cannot exhaust the stack or memory: at most
// 65536 bytes of text, 4096 AST nodes, and 256 levels of nesting, where each
// parenthesis and each unary operator is one level.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_SIEVEEXPR_H
#define SIEVE_DIALECT_SIEVEEXPR_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sieve::expr {

/// Longest accepted expression text, in bytes.
constexpr int kMaxTextBytes = 65536;
/// Most nodes a parsed expression may have.
constexpr int kMaxNodes = 4096;
/// Deepest nesting of parentheses and unary operators, counted together.
constexpr int kMaxDepth = 256;

/// The kind of an AST node: a leaf (Const, Var), a unary operator (Neg, Not)
/// or a binary operator.
enum class OpKind {
  Const, Var,
  Neg, Not,
  Add, Sub, Mul, Div, Rem,
  And, Or, Xor, Shl, Shr,
  Eq, Ne, Lt, Le, Gt, Ge,
  LAnd, LOr
};

/// The variables an expression may read. D is the block distance qb - kb.
enum class Var { Q, K, QB, KB, D };

/// One AST node. Operands are indices into Expr::nodes.
struct Node {
  OpKind kind;
  /// The literal's value, for Const.
  int64_t value = 0;
  /// The variable read, for Var.
  Var var = Var::Q;
  /// Operand indices; unary operators use lhs only, leaves neither.
  int lhs = -1, rhs = -1;
  /// 1-based byte column of the operator or leaf in the source text.
  int column = 0;
};

/// A parsed expression. Nodes are in post-order (every operand precedes its
/// user), so one forward pass evaluates it without recursion.
struct Expr {
  std::vector<Node> nodes;
  int root = -1;
};

/// Why parsing failed: a 1-based byte column and a lowercase message with no
/// trailing period that says what was expected and what was found.
struct ParseError {
  int column = 0;
  std::string message;
};

/// Parses `text`. Returns true and fills `out` on success; otherwise fills
/// `err`, leaves `out` empty and returns false. Never crashes, whatever the
/// input bytes.
bool parse(std::string_view text, Expr &out, ParseError &err);

/// The values of the variables; d is derived as qb - kb (wrapping).
struct Env {
  int64_t q, k, qb, kb;
};

/// Evaluates `e` under `env`. An empty Expr (root < 0) evaluates to 0.
int64_t evaluate(const Expr &e, const Env &env);

/// Applies a binary operator (Add .. LOr) with the semantics documented above.
/// Other evaluators and constant folders must use this, so that there is one
/// definition of the arithmetic. Returns 0 for a kind that is not binary.
int64_t applyBinary(OpKind kind, int64_t a, int64_t b);

/// Applies a unary operator (Neg, Not). Returns 0 for any other kind.
int64_t applyUnary(OpKind kind, int64_t a);

/// The source spelling of an operator: "+", "<<", "&&", "-" for Neg, "!" for
/// Not. Returns "" for Const and Var.
const char *spelling(OpKind kind);

/// The source spelling of a variable: "q", "k", "qb", "kb" or "d".
const char *spelling(Var var);

/// Prints `e` as canonical text: one space around each binary operator, none
/// after a unary one, and only the parentheses the grammar needs. Re-parsing
/// the text of a parsed Expr gives an equal tree (columns aside), and the text
/// never needs more nesting, nodes or bytes than the limits allow. A Const
/// with a negative value, which parse never makes, prints as an equivalent
/// expression ("-5", or "(1 << 63)" for INT64_MIN).
std::string print(const Expr &e);

} // namespace sieve::expr

#endif // SIEVE_DIALECT_SIEVEEXPR_H
