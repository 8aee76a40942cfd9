//===- SieveSvg.cpp - Pictures of a pattern for `sieve inspect --svg` -===//
//
// Two panels: the block map (query blocks down, key blocks across; full
// blocks dark, partial light) drawn from the walk's runs, so it costs one
// rectangle per run; and the receptive-field curve (coverage by layers).
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <sstream>

using namespace sieve;
using namespace sieve::plan;

namespace {
constexpr double kMap = 512, kPad = 40, kChartW = 360, kChartH = 260;

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

void blockMapPanel(std::ostringstream &svg, const mask::Pattern &p,
                   const Analysis &a) {
  int64_t rows = (a.seqLen + p.blockQ - 1) / p.blockQ;
  int64_t cols = (a.seqLen + p.blockK - 1) / p.blockK;
  int64_t stride = (rows + int64_t(kMap) - 1) / int64_t(kMap);
  std::vector<std::vector<TileRun>> map = blockMap(p, a.seqLen, stride);
  double sx = kMap / double(cols), sy = kMap / double(map.size());
  svg << "<g transform=\"translate(" << kPad << "," << kPad + 20 << ")\">\n"
      << "<rect width=\"" << kMap << "\" height=\"" << kMap
      << "\" fill=\"#ffffff\" stroke=\"#444\"/>\n";
  for (size_t i = 0; i < map.size(); ++i)
    for (const TileRun &r : map[i])
      svg << "<rect x=\"" << num(r.begin * sx) << "\" y=\"" << num(i * sy)
          << "\" width=\"" << num((r.end - r.begin) * sx) << "\" height=\""
          << num(sy) << "\" fill=\"" << (r.full ? "#1f4e79" : "#8fbce6")
          << "\"/>\n";
  svg << "<text x=\"0\" y=\"" << kMap + 18 << "\">key blocks &#8594; ("
      << cols << " of " << p.blockK << " tokens)</text>\n"
      << "<text transform=\"translate(-8," << kMap
      << ") rotate(-90)\">query blocks &#8594; (" << rows << ")</text>\n"
      << "<rect x=\"" << kMap - 150 << "\" y=\"" << kMap + 8
      << "\" width=\"10\" height=\"10\" fill=\"#1f4e79\"/><text x=\""
      << kMap - 136 << "\" y=\"" << kMap + 18 << "\">full</text>\n"
      << "<rect x=\"" << kMap - 90 << "\" y=\"" << kMap + 8
      << "\" width=\"10\" height=\"10\" fill=\"#8fbce6\"/><text x=\""
      << kMap - 76 << "\" y=\"" << kMap + 18 << "\">partial</text>\n";
  if (stride > 1)
    svg << "<text x=\"0\" y=\"" << kMap + 36 << "\">(every " << stride
        << "th query block shown)</text>\n";
  svg << "</g>\n";
}

void coveragePanel(std::ostringstream &svg, const Analysis &a) {
  double x0 = 2 * kPad + kMap + 30, y0 = kPad + 20;
  size_t n = a.coverage.size();
  auto px = [&](size_t layer) { // layer is 1-based
    return n <= 1 ? kChartW / 2 : (double(layer - 1) / double(n - 1)) * kChartW;
  };
  auto py = [&](double c) { return kChartH - c * kChartH; };
  svg << "<g transform=\"translate(" << x0 << "," << y0 << ")\">\n"
      << "<text x=\"0\" y=\"-8\">receptive field of the last block</text>\n";
  for (double g : {0.0, 0.25, 0.5, 0.75, 1.0})
    svg << "<line x1=\"0\" x2=\"" << kChartW << "\" y1=\"" << num(py(g))
        << "\" y2=\"" << num(py(g)) << "\" stroke=\"#ddd\"/><text x=\"-36\" y=\""
        << num(py(g) + 4) << "\">" << int(g * 100) << "%</text>\n";
  svg << "<rect width=\"" << kChartW << "\" height=\"" << kChartH
      << "\" fill=\"none\" stroke=\"#444\"/>\n<polyline fill=\"none\" "
         "stroke=\"#c0392b\" stroke-width=\"2\" points=\"";
  for (size_t i = 0; i < n; ++i)
    svg << num(px(i + 1)) << "," << num(py(a.coverage[i])) << " ";
  svg << "\"/>\n";
  for (size_t i = 0; i < n; ++i)
    svg << "<circle cx=\"" << num(px(i + 1)) << "\" cy=\"" << num(py(a.coverage[i]))
        << "\" r=\"3\" fill=\"#c0392b\"/>\n";
  svg << "<text x=\"0\" y=\"" << kChartH + 18 << "\">1</text><text x=\""
      << kChartW - 16 << "\" y=\"" << kChartH + 18 << "\">" << n
      << "</text><text x=\"" << kChartW / 2 - 20 << "\" y=\"" << kChartH + 18
      << "\">layers</text>\n<text x=\"0\" y=\"" << kChartH + 44 << "\">"
      << (a.layersToFullCoverage
              ? "full coverage after " + std::to_string(*a.layersToFullCoverage) + " layers"
              : std::string("never reaches every block"))
      << "</text>\n</g>\n";
}
} // namespace

bool cli::writeSvg(const std::string &path, const mask::Pattern &p,
                   const Analysis &a, std::string &message) {
  std::ostringstream svg;
  double width = 3 * kPad + kMap + 30 + kChartW, height = kMap + 2 * kPad + 60;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
      << "\" height=\"" << height << "\" font-family=\"sans-serif\" "
      << "font-size=\"12\" shape-rendering=\"crispEdges\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n"
      << "<text x=\"" << kPad << "\" y=\"24\" font-size=\"15\">" << xmlText(p.name)
      << ": " << a.seqLen << " tokens, density " << num(100 * a.density)
      << "%, at most " << a.maxBlocksPerRow << " blocks per row</text>\n";
  blockMapPanel(svg, p, a);
  coveragePanel(svg, a);
  svg << "</svg>\n";
  return writeFile(path, svg.str(), /*binary=*/false, message);
}
