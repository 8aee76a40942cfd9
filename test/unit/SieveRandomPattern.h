//===- SieveRandomPattern.h - Random patterns from the algebra --*- C++ -*-===//

#ifndef SIEVE_TEST_UNIT_SIEVERANDOMPATTERN_H
#define SIEVE_TEST_UNIT_SIEVERANDOMPATTERN_H

#include "dialect/SieveMask.h"

#include <random>

namespace sieve::test {

/// Random patterns over every term of the algebra, with small parameters so
/// that brute force over a few hundred tokens sees every behaviour.
class RandomPattern {
public:
  explicit RandomPattern(uint64_t seed, bool predicates = true)
      : rng(seed), predicates(predicates) {}

  mask::Pattern next() {
    mask::Pattern p;
    p.blockQ = 1 + rng() % 12;
    p.blockK = rng() % 3 ? p.blockQ : 1 + rng() % 12;
    p.root = node(p, 3);
    return p;
  }

  int64_t uniform(int64_t lo, int64_t hi) {
    return lo + int64_t(rng() % uint64_t(hi - lo + 1));
  }

private:
  std::mt19937_64 rng;
  bool predicates;

  int node(mask::Pattern &p, int depth) {
    using mask::Kind;
    int choice = depth <= 0 ? int(rng() % 11) : int(rng() % 15);
    mask::Node n;
    n.unit = rng() % 2 ? Unit::block : Unit::token;
    switch (choice) {
    case 0: n.kind = Kind::Full; break;
    case 1: n.kind = Kind::Causal; n.a = uniform(-20, 20); break;
    case 2: n.kind = Kind::Sink; n.a = uniform(1, 30); break;
    case 3: n.kind = Kind::Window; n.a = uniform(1, 30); break;
    case 4:
      n.kind = Kind::Band;
      n.a = uniform(-15, 15);
      n.b = n.a + uniform(0, 20);
      break;
    case 5: n.kind = Kind::PowerOfTwo; break;
    case 6: n.kind = Kind::Stride; n.a = uniform(1, 9); break;
    case 7: n.kind = Kind::Dilated; n.a = uniform(1, 4); n.b = uniform(1, 20); break;
    case 8: {
      n.kind = Kind::LongNet;
      for (int i = uniform(1, 3); i > 0; --i) {
        n.segments.push_back(uniform(1, 20));
        n.ratios.push_back(int64_t(1) << uniform(0, 3));
      }
      break;
    }
    case 9: n.kind = Kind::Global; n.a = uniform(1, 12); break;
    case 10:
      if (!predicates) {
        n.kind = Kind::Causal;
        break;
      }
      n.kind = Kind::Predicate;
      n.predicate = randomPredicate();
      break;
    case 11:
    case 12:
    case 13: {
      n.kind = choice == 11 ? Kind::Union : Kind::Intersect;
      for (int i = uniform(1, 3); i > 0; --i)
        n.operands.push_back(node(p, depth - 1));
      break;
    }
    default:
      n.kind = Kind::Not;
      n.operands.push_back(node(p, depth - 1));
    }
    return p.add(std::move(n));
  }

  expr::Expr randomPredicate() {
    static const char *const forms[] = {
        "(q + k) % 3 == 0", "qb % 2 == kb % 2", "q - k < 7 && q >= k",
        "(q ^ k) & 4", "kb * 3 > qb", "d == 3 || d == 5", "k % 5 != 1",
        "qb / 2 == kb / 2"};
    expr::Expr e;
    expr::ParseError err;
    expr::parse(forms[rng() % (sizeof forms / sizeof *forms)], e, err);
    return e;
  }
};

} // namespace sieve::test

#endif // SIEVE_TEST_UNIT_SIEVERANDOMPATTERN_H
