//===- SieveSvg.cpp - Pictures of a pattern for `sieve inspect --svg` -===//
//
// Two panels: the block map (query blocks down, key blocks across, both
// counted from the top-left corner and ticked in blocks; full blocks dark,
// partial light) drawn from the walk's runs, so it costs one rectangle per
// run; and the receptive-field curve (coverage by layers).
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace sieve;
using namespace sieve::plan;

namespace {
/// The block map's side, the margins around it (tick labels and axis
/// titles), and the coverage chart's size.
constexpr double kMap = 512, kLeft = 84, kTop = 92, kChartW = 360, kChartH = 260;

/// `text` with the characters XML gives a meaning escaped, and bytes that
/// are not printable ASCII as character references, so that any name makes
/// a well-formed document.
std::string xmlText(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    case '\'': out += "&apos;"; break;
    default:
      if (c >= 0x20 && c < 0x7f)
        out += c;
      else
        out += "&#xFFFD;"; // not valid XML text on its own
    }
  }
  return out;
}

std::string num(double x) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%.2f", x);
  return s;
}

/// The tick step for an axis of `extent` units: 1, 2 or 5 times a power of
/// ten, the smallest that gives at most `maxTicks` intervals.
int64_t tickStep(int64_t extent, int64_t maxTicks) {
  for (int64_t power = 1;; power *= 10)
    for (int64_t m : {1, 2, 5})
      if (extent <= maxTicks * m * power)
        return m * power;
}

/// "(1 block = 256 tokens)" for an axis title.
std::string blockTokens(int64_t block) {
  return "(1 block = " + std::to_string(block) + (block == 1 ? " token)" : " tokens)");
}

/// Ticks, labels and faint grid lines along both axes of the block map:
/// key blocks across the top, query blocks down the left side, both counted
/// from 0 at the top-left corner.
void blockMapAxes(std::ostringstream &svg, const mask::Pattern &p, int64_t rows, int64_t cols,
                  double rowScale) {
  const double sx = kMap / double(cols);
  const int64_t kStep = tickStep(cols, 8), qStep = tickStep(rows, 8);
  svg << "<g font-size=\"11\" fill=\"#333\">\n";
  for (int64_t t = 0; t <= cols; t += kStep)
    svg << "<line x1=\"" << num(t * sx) << "\" x2=\"" << num(t * sx) << "\" y1=\"-5\" y2=\""
        << kMap << "\" stroke=\"#e4e4e4\"/><text x=\"" << num(t * sx)
        << "\" y=\"-9\" text-anchor=\"middle\">" << t << "</text>\n";
  for (int64_t t = 0; t <= rows; t += qStep)
    svg << "<line x1=\"-5\" x2=\"" << kMap << "\" y1=\"" << num(t * rowScale) << "\" y2=\""
        << num(t * rowScale) << "\" stroke=\"#e4e4e4\"/><text x=\"-9\" y=\""
        << num(t * rowScale + 4) << "\" text-anchor=\"end\">" << t << "</text>\n";
  svg << "</g>\n"
      << "<text x=\"" << kMap / 2 << "\" y=\"-30\" text-anchor=\"middle\">key block &#8594; "
      << blockTokens(p.blockK) << "</text>\n"
      // Rotated a quarter turn clockwise, the title reads downwards and its
      // arrow points the way query blocks count.
      << "<text transform=\"translate(-56," << kMap / 2
      << ") rotate(90)\" text-anchor=\"middle\">query block &#8594; " << blockTokens(p.blockQ)
      << "</text>\n";
}

void blockMapPanel(std::ostringstream &svg, const mask::Pattern &p,
                   const Analysis &a) {
  int64_t rows = (a.seqLen + p.blockQ - 1) / p.blockQ;
  int64_t cols = (a.seqLen + p.blockK - 1) / p.blockK;
  int64_t stride = (rows + int64_t(kMap) - 1) / int64_t(kMap);
  std::vector<std::vector<TileRun>> map = blockMap(p, a.seqLen, stride);
  double sx = kMap / double(cols), sy = kMap / double(map.size());
  svg << "<g transform=\"translate(" << kLeft << "," << kTop << ")\">\n"
      << "<rect width=\"" << kMap << "\" height=\"" << kMap << "\" fill=\"#ffffff\"/>\n";
  blockMapAxes(svg, p, rows, cols, sy / double(stride));
  for (size_t i = 0; i < map.size(); ++i)
    for (const TileRun &r : map[i])
      svg << "<rect x=\"" << num(r.begin * sx) << "\" y=\"" << num(i * sy)
          << "\" width=\"" << num((r.end - r.begin) * sx) << "\" height=\""
          << num(sy) << "\" fill=\"" << (r.full ? "#1f4e79" : "#8fbce6")
          << "\"/>\n";
  svg << "<rect width=\"" << kMap << "\" height=\"" << kMap
      << "\" fill=\"none\" stroke=\"#444\"/>\n"
      << "<rect x=\"0\" y=\"" << kMap + 12 << "\" width=\"10\" height=\"10\" "
      << "fill=\"#1f4e79\"/><text x=\"14\" y=\"" << kMap + 22
      << "\">full block</text>\n"
      << "<rect x=\"96\" y=\"" << kMap + 12 << "\" width=\"10\" height=\"10\" "
      << "fill=\"#8fbce6\"/><text x=\"110\" y=\"" << kMap + 22
      << "\">partial block</text>\n";
  if (stride > 1)
    svg << "<text x=\"" << kMap << "\" y=\"" << kMap + 22
        << "\" text-anchor=\"end\">every " << stride << "th query block drawn</text>\n";
  svg << "</g>\n";
}

void coveragePanel(std::ostringstream &svg, const Analysis &a) {
  double x0 = kLeft + kMap + 90, y0 = kTop;
  size_t n = a.coverage.size();
  auto px = [&](size_t layer) { // layer is 1-based
    return n <= 1 ? kChartW / 2 : (double(layer - 1) / double(n - 1)) * kChartW;
  };
  auto py = [&](double c) { return kChartH - c * kChartH; };
  svg << "<g transform=\"translate(" << x0 << "," << y0 << ")\">\n"
      << "<text x=\"0\" y=\"-12\">receptive field of the last block</text>\n";
  for (double g : {0.0, 0.25, 0.5, 0.75, 1.0})
    svg << "<line x1=\"-5\" x2=\"" << kChartW << "\" y1=\"" << num(py(g))
        << "\" y2=\"" << num(py(g)) << "\" stroke=\"#e4e4e4\"/><text x=\"-9\" y=\""
        << num(py(g) + 4) << "\" text-anchor=\"end\" font-size=\"11\">" << int(g * 100)
        << "%</text>\n";
  // Layer ticks at 1 and every step after it.
  const int64_t step = tickStep(int64_t(n), 12);
  for (size_t layer = 1; layer <= n; layer = (layer == 1 && step > 1) ? size_t(step)
                                                                       : layer + size_t(step))
    svg << "<line x1=\"" << num(px(layer)) << "\" x2=\"" << num(px(layer)) << "\" y1=\""
        << kChartH << "\" y2=\"" << kChartH + 5 << "\" stroke=\"#444\"/><text x=\""
        << num(px(layer)) << "\" y=\"" << kChartH + 18
        << "\" text-anchor=\"middle\" font-size=\"11\">" << layer << "</text>\n";
  svg << "<rect width=\"" << kChartW << "\" height=\"" << kChartH
      << "\" fill=\"none\" stroke=\"#444\"/>\n<polyline fill=\"none\" "
         "stroke=\"#c0392b\" stroke-width=\"2\" points=\"";
  for (size_t i = 0; i < n; ++i)
    svg << num(px(i + 1)) << "," << num(py(a.coverage[i])) << " ";
  svg << "\"/>\n";
  for (size_t i = 0; i < n; ++i)
    svg << "<circle cx=\"" << num(px(i + 1)) << "\" cy=\"" << num(py(a.coverage[i]))
        << "\" r=\"3\" fill=\"#c0392b\"/>\n";
  svg << "<text x=\"" << kChartW / 2 << "\" y=\"" << kChartH + 36
      << "\" text-anchor=\"middle\">layers</text>\n<text x=\"0\" y=\"" << kChartH + 62
      << "\">"
      << (a.layersToFullCoverage
              ? "full coverage after " + std::to_string(*a.layersToFullCoverage) + " layers"
              : std::string("never reaches every block"))
      << "</text>\n</g>\n";
}
} // namespace

bool cli::writeSvg(const std::string &path, const mask::Pattern &p,
                   const Analysis &a, std::string &message) {
  std::ostringstream svg;
  double width = kLeft + kMap + 90 + kChartW + 30, height = kTop + kMap + 48;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
      << "\" height=\"" << height << "\" font-family=\"sans-serif\" "
      << "font-size=\"12\" shape-rendering=\"crispEdges\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n"
      << "<text x=\"16\" y=\"26\" font-size=\"15\">" << xmlText(p.name)
      << ": " << a.seqLen << " tokens, density " << num(100 * a.density)
      << "%, at most " << a.maxBlocksPerRow << " blocks per row</text>\n";
  blockMapPanel(svg, p, a);
  coveragePanel(svg, a);
  svg << "</svg>\n";
  return writeFile(path, svg.str(), /*binary=*/false, message);
}
